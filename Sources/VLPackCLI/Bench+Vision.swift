import ArgumentParser
import Foundation
import VLCore
import VLInference
import VLPackFormat
import VLPipeline
import VLVerify

extension Bench {
    /// Times the vision branch's forward pass and sets it against the GEMM rate this machine reaches.
    struct Vision: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the vision branch (EVA ViT-g → Q-Formers → llama_proj) on T frames.",
            discussion: """
                Runs --warmup untimed and --runs timed forward passes on the same T frames (the reference's \
                input.frames with --reference, otherwise fixed pseudo-random CLIP-normalized frames: the \
                time does not depend on the values), then measures the GEMM rate at the model's dominant \
                shape (EVA fc1: M = T·257, N = 6144, K = 1408 at ViT-g size) through the same split \
                single-threaded OpenBLAS sgemm the model uses. Prints per-stage medians, GFLOP/s, the \
                share of that GEMM rate, and the process's peak RSS (measured before the GEMM test).

                Example (the figure in Docs/BENCHMARKS.md):
                  vlpack bench vision full-f16.vlpack --frames 8 --runs 3 --threads 2
                """
        )

        @Argument(help: "The .vlpack file (needs eva_vit, blip2_qformer and video_branch).")
        var file: String

        @Option(help: "Frames per forward pass (the official loader uses 8).")
        var frames = 8

        @Option(help: "Timed runs.")
        var runs = 3

        @Option(help: "Untimed runs first (page in the weights, size the buffers).")
        var warmup = 1

        @Option(help: "Worker threads.")
        var threads = 2

        @Option(help: "Take the frames from this reference file's input.frames.")
        var reference: String?

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard frames >= 1, runs >= 1, warmup >= 0, threads >= 1 else {
                throw ValidationError("--frames, --runs and --threads must be at least 1, --warmup at least 0")
            }
        }

        func run() throws {
            let context = ExecutionContext(threads: threads)
            let branch = try VideoBranch(weights: Weights(path: file))
            let input = try loadFrames(branch)
            var times: [StageTimes] = []
            let state = branch.makeRunState()
            for i in 0..<(warmup + runs) {
                let t = try StageTimes.measure(branch, frames: input, count: frames, state: state, on: context)
                if i >= warmup { times.append(t) }
            }
            let peakRSS = Self.peakRSSBytes()
            let e = branch.eva.config
            let gemm = LinearRate.measure(rows: frames * e.tokens, out: e.mlp, in: e.width, on: context)
            let totals = times.map(\.total).sorted()
            let median = totals[totals.count / 2]
            let flops = branch.flops(frames: frames)
            let prefixes = VideoBranch.stages.flatMap(\.weights)
            let storages = Dictionary(
                grouping: branch.weights.pack.tensors.filter { t in prefixes.contains { $0.contains(t.name) } },
                by: { $0.storage.name }
            ).mapValues(\.count)
            let stageMedians = StageTimes.names.indices.map { i in times.map { $0.seconds[i] }.sorted()[times.count / 2] }

            if json {
                print(
                    JSONValue.object([
                        ("file", JSONValue(file)), ("frames", JSONValue(frames)), ("threads", JSONValue(threads)),
                        ("storages", .object(storages.sorted { $0.key < $1.key }.map { ($0.key, JSONValue($0.value)) })),
                        ("runs_s", .array(totals.map { JSONValue($0) })), ("median_s", JSONValue(median)),
                        ("stages_median_s", .object(zip(StageTimes.names, stageMedians).map { ($0, JSONValue($1)) })),
                        ("gflop", JSONValue(flops / 1e9)), ("gflops", JSONValue(flops / median / 1e9)),
                        (
                            "gemm",
                            .object([
                                ("m", JSONValue(gemm.m)), ("n", JSONValue(gemm.n)), ("k", JSONValue(gemm.k)),
                                ("gflops", JSONValue(gemm.gflops)),
                            ])
                        ),
                        ("peak_rss_bytes", JSONValue(peakRSS)),
                    ]).serialized())
                return
            }
            let storageList = storages.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            print("vision branch: \(frames) frames, \(threads) threads, tensors \(storageList)")
            print("runs: " + totals.map { String(format: "%.2f s", $0) }.joined(separator: ", "))
            print("median per stage: " + zip(StageTimes.names, stageMedians).map { String(format: "%@ %.3f s", $0 as NSString, $1) }.joined(separator: ", "))
            print(
                String(
                    format: "median %.2f s: %.0f GFLOP → %.1f GFLOP/s = %.0f %% of the GEMM rate (%d×%d×%d sgemm: %.1f GFLOP/s)",
                    median, flops / 1e9, flops / median / 1e9, 100 * flops / median / 1e9 / gemm.gflops, gemm.m, gemm.n, gemm.k, gemm.gflops))
            print(String(format: "peak RSS %.2f GiB (mapping included)", Double(peakRSS) / Double(1 << 30)))
        }

        private func loadFrames(_ branch: VideoBranch) throws -> [Float] {
            let S = branch.eva.config.imageSize, perFrame = 3 * S * S
            if let reference {
                guard let (values, shape) = try ReferenceFile(path: reference).tensor(VideoBranch.input, of: branch) else {
                    throw BenchError.referenceLacksInput(reference: reference, stage: VideoBranch.input.rawValue)
                }
                guard shape[0] >= frames, shape.dropFirst() == [3, S, S] else {
                    throw BenchError.referenceInputTooSmall(
                        reference: reference, stage: VideoBranch.input.rawValue,
                        shape: shape, needed: [frames, 3, S, S])
                }
                return Array(values.prefix(frames * perFrame))
            }
            return SyntheticInput.frames(count: frames * perFrame)
        }

        static func peakRSSBytes() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_maxrss * 1024  // Linux reports KiB
        }
    }
}

/// Wall time of each stage of one forward pass, in `VideoBranch.stages` order.
struct StageTimes {
    static let names = VideoBranch.stages.map(\.label)
    var seconds: [Double]
    var total: Double { seconds.reduce(0, +) }

    static func measure(
        _ branch: VideoBranch, frames: [Float], count t: Int, state: VideoBranch.RunState,
        on context: ExecutionContext
    ) throws -> StageTimes {
        var x = frames, seconds: [Double] = []
        for stage in VideoBranch.stages {
            let (y, s) = try timed { try stage.run(branch, x, t, state, context) }
            x = y
            seconds.append(s)
        }
        return StageTimes(seconds: seconds)
    }
}

/// Why `bench` could not take its input from a reference file.
enum BenchError: RuleError {
    case referenceLacksInput(reference: String, stage: String)
    case referenceInputTooSmall(reference: String, stage: String, shape: [Int], needed: [Int])

    var detail: String {
        switch self {
        case let .referenceLacksInput(reference, stage): "\(reference) has no \(stage)"
        case let .referenceInputTooSmall(reference, stage, shape, needed): "\(reference): \(stage) is \(shape); need at least \(needed)"
        }
    }
}
