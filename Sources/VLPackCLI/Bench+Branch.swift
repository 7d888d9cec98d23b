import ArgumentParser
import Foundation
import VLCore
import VLInference
import VLMedia
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

        @OptionGroup var options: BranchBenchOptions

        func validate() throws { try options.validate(count: frames, name: "--frames") }

        func run() throws {
            try BranchBenchmark(branch: VideoBranch(weights: Weights(path: file)), file: file, count: frames, unit: "frames", options: options).run()
        }
    }

    /// Times the audio branch's forward pass the same way.
    struct Audio: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the audio branch (ImageBind audio tower → audio Q-Former → audio_llama_proj) on S clips.",
            discussion: """
                As `bench vision`, on S log-mel clips (the reference's input.mel with --reference, otherwise \
                fixed pseudo-random values). With --audio FILE every run starts from the file instead: \
                decoding, resampling, the clips and their fbank (the official load_and_transform_audio_data) \
                are timed as the stage "media" and the clips it makes are the input (S = the model's clip \
                count). The GEMM rate is measured at the audio tower's fc1 (M = S·229, N = 3072, K = 768 at \
                ImageBind-huge size).

                Examples:
                  vlpack bench audio full-audio.vlpack --clips 8 --runs 5 --threads 2
                  vlpack bench audio full-audio.vlpack --audio clip.mp4 --runs 5
                """
        )

        @Argument(help: "The .vlpack file (needs imagebind_audio and audio_branch).")
        var file: String

        @Option(help: "Clips per forward pass (the official loader uses 8).")
        var clips = 8

        @Option(help: "Start every run from this audio or video file (decode + fbank timed as \"media\").")
        var audio: String?

        @OptionGroup var options: BranchBenchOptions

        func validate() throws {
            try options.validate(count: clips, name: "--clips")
            guard audio == nil || options.reference == nil else { throw ValidationError("--audio and --reference exclude each other") }
        }

        func run() throws {
            let branch = try AudioBranch(weights: Weights(path: file))
            var benchmark = BranchBenchmark(branch: branch, file: file, count: clips, unit: "clips", options: options)
            if let audio {
                let loader = AudioClipLoader(path: audio, settings: MelSettings(branch.encoder.config), threads: options.threads)
                benchmark.count = loader.settings.clipsPerVideo
                benchmark.media = { try loader.load().values }
            }
            try benchmark.run()
        }
    }

    static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024  // Linux reports KiB
    }
}

/// The options every branch benchmark takes.
struct BranchBenchOptions: ParsableArguments {
    @Option(help: "Timed runs.")
    var runs = 3

    @Option(help: "Untimed runs first (page in the weights, size the buffers).")
    var warmup = 1

    @Option(help: "Worker threads.")
    var threads = 2

    @Option(help: "Take the input from this reference file's input tensor (input.frames / input.mel).")
    var reference: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate(count: Int, name: String) throws {
        guard count >= 1, runs >= 1, warmup >= 0, threads >= 1 else {
            throw ValidationError("\(name), --runs and --threads must be at least 1, --warmup at least 0")
        }
    }
}

/// One branch benchmark: timed runs per stage, GFLOP/s against the dominant GEMM's rate, peak RSS.
struct BranchBenchmark<B: BranchCost> {
    let branch: B
    let file: String
    var count: Int
    /// What an item is called in the output ("frames", "clips").
    let unit: String
    let options: BranchBenchOptions
    /// When set, each run starts by making its input from a media file (timed as the stage "media").
    var media: (() throws -> [Float])?

    func run() throws {
        let context = ExecutionContext(threads: options.threads)
        let input = media == nil ? try loadInput() : []
        var times: [[Double]] = []
        let state = branch.makeRunState()
        for i in 0..<(options.warmup + options.runs) {
            var x = input, seconds: [Double] = []
            if let media {
                let (made, s) = try timed { try media() }
                x = made
                seconds.append(s)
            }
            for stage in B.stages {
                let (y, s) = try timed { try stage.run(branch, x, count, state, context) }
                x = y
                seconds.append(s)
            }
            if i >= options.warmup { times.append(seconds) }
        }
        let peakRSS = Bench.peakRSSBytes()
        let shape = branch.dominantGEMM(count: count)
        let gemm = LinearRate.measure(rows: shape.m, out: shape.n, in: shape.k, on: context)
        let totals = times.map { $0.reduce(0, +) }.sorted()
        let median = totals[totals.count / 2]
        // The rate is the model's: its stages only (a media stage does no counted flops).
        let modelTimes = times.map { $0.dropFirst(media == nil ? 0 : 1).reduce(0, +) }.sorted()
        let modelMedian = modelTimes[modelTimes.count / 2]
        let flops = branch.flops(count: count)  // the model's; the media stage is not counted
        let prefixes = B.stages.flatMap(\.weights)
        let storages = Dictionary(
            grouping: branch.weights.pack.tensors(under: prefixes),
            by: { $0.storage.name }
        ).mapValues(\.count)
        let labels = (media == nil ? [] : ["media"]) + B.stages.map(\.label)
        let stageMedians = labels.indices.map { i in times.map { $0[i] }.sorted()[times.count / 2] }

        if options.json {
            print(
                JSONValue.object([
                    ("file", JSONValue(file)), (unit, JSONValue(count)), ("threads", JSONValue(options.threads)),
                    ("storages", .object(storages.sorted { $0.key < $1.key }.map { ($0.key, JSONValue($0.value)) })),
                    ("runs_s", .array(totals.map { JSONValue($0) })), ("median_s", JSONValue(median)),
                    ("stages_median_s", .object(zip(labels, stageMedians).map { ($0, JSONValue($1)) })),
                    ("gflop", JSONValue(flops / 1e9)), ("gflops", JSONValue(flops / modelMedian / 1e9)),
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
        print("\(B.stages[0].name.rawValue.split(separator: ".")[0]) branch: \(count) \(unit), \(options.threads) threads, tensors \(storageList)")
        print("runs: " + totals.map { String(format: "%.3f s", $0) }.joined(separator: ", "))
        print("median per stage: " + zip(labels, stageMedians).map { String(format: "%@ %.3f s", $0 as NSString, $1) }.joined(separator: ", "))
        print(
            String(
                format: "median %.3f s: %.1f GFLOP → %.1f GFLOP/s in the model stages = %.0f %% of the GEMM rate (%d×%d×%d sgemm: %.1f GFLOP/s)",
                median, flops / 1e9, flops / modelMedian / 1e9, 100 * flops / modelMedian / 1e9 / gemm.gflops, gemm.m, gemm.n, gemm.k,
                gemm.gflops))
        print(String(format: "peak RSS %.2f GiB (mapping included)", Double(peakRSS) / Double(1 << 30)))
    }

    private func loadInput() throws -> [Float] {
        guard let shape = branch.shape(of: B.input, count: count) else { return [] }
        let size = shape.reduce(1, *)
        guard let reference = options.reference else { return SyntheticInput.normalizedValues(count: size) }
        guard let (values, got) = try ReferenceFile(path: reference).tensor(B.input, of: branch) else {
            throw BenchError.referenceLacksInput(reference: reference, stage: B.input.rawValue)
        }
        guard got[0] >= count, Array(got.dropFirst()) == Array(shape.dropFirst()) else {
            throw BenchError.referenceInputTooSmall(reference: reference, stage: B.input.rawValue, shape: got, needed: shape)
        }
        return Array(values.prefix(size))
    }
}
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
