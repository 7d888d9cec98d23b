import Foundation
import Testing
import VLCore

/// `vlpack bench vision` on the sample model: the JSON report's fields and their consistency.
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"))
struct BenchCommandTests {
    @Test func visionReportsRunsStagesRateAndMemory() throws {
        let model = VerifyReferenceTests.model
        let r = try CLI.run(["bench", "vision", model, "--frames", "2", "--runs", "3", "--warmup", "0", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try VerifyReferenceTests.parse(r.stdout)
        #expect(json[key: "frames"]?.int == 2)
        let runs = (json[key: "runs_s"]?.array ?? []).compactMap { $0.double }
        #expect(runs.count == 3 && runs.allSatisfy { $0 > 0 })
        let median = try #require(json[key: "median_s"]?.double)
        #expect(median == runs.sorted()[1])
        // GFLOP/s is the model's flop count over the median.
        let gflop = try #require(json[key: "gflop"]?.double), gflops = try #require(json[key: "gflops"]?.double)
        #expect(abs(gflops - gflop / median) <= 1e-9 * gflops)
        let stages = (json[key: "stages_median_s"]?.objectEntries ?? []).map { $0.key }
        #expect(stages == ["encoder", "ln_vision", "qformer", "video_qformer", "llama_proj"])
        #expect((json[key: "gemm"]?[key: "gflops"]?.double ?? 0) > 0)
        #expect((json[key: "peak_rss_bytes"]?.int ?? 0) > 1 << 20)
    }

    @Test func visionRefusesAReferenceWithTooFewFrames() throws {
        let r = try CLI.run(["bench", "vision", VerifyReferenceTests.model, "--frames", "9",
                             "--reference", VerifyReferenceTests.reference])
        #expect(r.status != 0)
        #expect(r.stderr.contains("input.frames"))
    }
}
