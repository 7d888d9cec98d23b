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
        let r = try CLI.run([
            "bench", "vision", VerifyReferenceTests.model, "--frames", "9",
            "--reference", VerifyReferenceTests.reference,
        ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("input.frames"))
    }

    /// `bench llm` on the sample LLM: rates consistent with the token counts, weight bytes per token
    /// equal to the file's llm tensors but the embedding table, and the limits measured.
    @Test func llmReportsPrefillDecodeAndLimits() throws {
        try FileManager.default.createDirectory(atPath: VerifyReferenceTests.folder, withIntermediateDirectories: true)
        let llm = "\(VerifyReferenceTests.folder)/bench-llm.vlpack"
        try #require(try CLI.run(["convert", "Fixtures/samples/llama-hf", "-o", llm]).status == 0)
        let r = try CLI.run(["bench", "llm", llm, "--prompt-tokens", "16", "--gen-tokens", "8", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try VerifyReferenceTests.parse(r.stdout)
        #expect(json[key: "pp_tokens"]?.int == 16 && json[key: "tg_tokens"]?.int == 8)
        #expect((json[key: "pp_tokens_per_s"]?.double ?? 0) > 0 && (json[key: "tg_tokens_per_s"]?.double ?? 0) > 0)
        // The sample: 2 layers of 4·256² + 3·256·768, the final norm and lm_head 512×256, norms 2·256 per layer, all F16.
        let streamed = 2 * (4 * 256 * 256 + 3 * 256 * 768 + 2 * 256) + 256 + 512 * 256
        #expect(json[key: "weight_bytes_per_token"]?.int == 2 * streamed)
        let tg = try #require(json[key: "tg_tokens_per_s"]?.double), gb = try #require(json[key: "tg_weight_gb_per_s"]?.double)
        #expect(abs(gb - Double(2 * streamed) * tg / 1e9) <= 1e-9 * gb)
        #expect((json[key: "memory_read_gb_per_s"]?.double ?? 0) > 0 && (json[key: "gemm"]?[key: "gflops"]?.double ?? 0) > 0)
    }
}
