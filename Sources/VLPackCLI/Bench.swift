import ArgumentParser
import Foundation
import VLCore
import VLPackFormat

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Micro-benchmarks of VLPack operations on your files.",
        discussion: """
            open FILE: time to open and fully validate a .vlpack file (mmap, preamble, header JSON, tensor \
            table) — no tensor data is read, so this is O(header). Prints the median in milliseconds.

            vision FILE: time the vision branch's forward pass on T frames, with GFLOP/s against the GEMM \
            rate measured in the same run and the peak RSS.

            audio FILE: the same for the audio branch on S log-mel clips.

            llm FILE: time the LLM decoder's prefill and one-token decoding (llama-bench's pp and tg), with \
            the weight bytes streamed per second against the memory bandwidth measured in the same run.
            """,
        subcommands: [Open.self, Vision.self, Audio.self, LLM.self]
    )

    struct Open: ParsableCommand {
        @Argument(help: "The .vlpack file.")
        var file: String

        @Option(help: "Number of timed opens.")
        var runs = 50

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            var times: [Double] = []
            var tensors = 0
            for _ in 0..<max(runs, 1) {
                let seconds: Double
                (tensors, seconds) = try timed { try VLPackFile(path: file).tensors.count }
                times.append(seconds * 1e3)
            }
            times.sort()
            let median = times[times.count / 2]
            if json {
                print(
                    JSONValue.object([
                        ("file", JSONValue(file)), ("tensors", JSONValue(tensors)), ("runs", JSONValue(times.count)),
                        ("median_ms", JSONValue(median)), ("min_ms", JSONValue(times[0])),
                    ]).serialized())
            } else {
                print(String(format: "%.3f ms median open (%d tensors, %d runs, min %.3f ms)", median, tensors, times.count, times[0]))
            }
        }
    }
}
