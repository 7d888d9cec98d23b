import Foundation
import Testing
import VLCore

/// `vlpack verify QUANT --against FLOAT --text FILE` through the executable: the figures, the
/// progress lines, and the usage errors of bad option combinations.
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"), .serialized)
struct VerifyAgainstTests {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-verify-against-\(getpid())").path

    /// The sample LLM converted and quantized with q4_k_m by the CLI, and a short text: (float, q4, text).
    static let files: (float: String, quantized: String, text: String) = {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let float = "\(folder)/llm.vlpack", q4 = "\(folder)/llm-q4_k_m.vlpack", text = "\(folder)/text.txt"
        _ = try? CLI.run(["convert", "Fixtures/samples/llama-hf", "-o", float])
        _ = try? CLI.run(["quantize", float, "-o", q4, "--type", "q4_k_m"])
        let sentence = "The llama is a domesticated South American camelid, widely used as a meat and pack animal by Andean cultures. "
        try? (String(repeating: sentence, count: 4) + "\n").write(toFile: text, atomically: true, encoding: .utf8)
        return (float, q4, text)
    }()

    static func parse(_ text: String) throws -> JSONValue {
        try text.utf8CString.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
    }

    @Test func quantizedAgainstFloatPrintsTheFigures() throws {
        let (float, q4, text) = Self.files
        let r = try CLI.run(["verify", q4, "--against", float, "--text", text, "--ctx", "64", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try Self.parse(r.stdout)
        for key in [
            "against", "text", "ctx", "chunks", "tokens", "positions", "mean_kl", "mean_kl_stderr", "max_kl", "top1_agreement",
            "top1_agreement_stderr", "ppl", "ppl_stderr", "ppl_base", "ppl_base_stderr", "ppl_ratio", "ppl_ratio_stderr", "ln_ppl_ratio",
            "ln_ppl_ratio_stderr",
        ] {
            #expect(json[key: key] != nil, "\(key)")
        }
        #expect(json[key: "against"]?.string == float && json[key: "text"]?.string == text && json[key: "ctx"]?.int == 64)
        let chunks = try #require(json[key: "chunks"]?.int)
        #expect(chunks >= 2 && json[key: "positions"]?.int == chunks * 31)  // rows 32...62 of each chunk
        #expect((json[key: "mean_kl"]?.double ?? 0) > 0)
        #expect(r.stderr.contains("chunk 1/\(chunks): mean KL so far"))

        // --chunks 1 keeps the first chunk; the plain output names the figures.
        let one = try CLI.run(["verify", q4, "--against", float, "--text", text, "--ctx", "64", "--chunks", "1"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains("1 chunks of 64 tokens, 31 positions scored") && one.stdout.contains("Mean KL divergence"))
        #expect(one.stdout.contains("Same top p") && one.stdout.contains("PPL ratio"))
    }

    @Test func theFloatModelAgainstItselfLosesNothing() throws {
        let (float, _, text) = Self.files
        let r = try CLI.run(["verify", float, "--against", float, "--text", text, "--ctx", "64", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try Self.parse(r.stdout)
        #expect(json[key: "mean_kl"]?.double == 0 && json[key: "top1_agreement"]?.double == 1)
        #expect(json[key: "ppl"] == json[key: "ppl_base"])
    }

    @Test func badCombinationsAreUsageErrors() throws {
        let (float, q4, text) = Self.files
        for (arguments, rule) in [
            (["--text", text], "optionNeedsOption"), (["--against", float], "optionNeedsOption"),
            (["--integrity", "--ctx", "64"], "optionNeedsOption"), (["--integrity", "--chunks", "2"], "optionNeedsOption"),
            (["--against", float, "--text", text, "--ctx", "2"], "contextTooShort"),
            (["--against", float, "--text", text, "--chunks", "0"], "chunkCountNotPositive"),
        ] {
            let r = try CLI.run(["verify", q4] + arguments)
            #expect(r.status == 64, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains(rule), "\(arguments): \(r.stderr)")
        }
    }

    @Test func aTextShorterThanTwoContextsFails() throws {
        let (float, q4, text) = Self.files
        let r = try CLI.run(["verify", q4, "--against", float, "--text", text])  // ctx 512: 1024 tokens needed
        #expect(r.status == 1)
        #expect(r.stderr.contains("textTooShort") && r.stderr.contains(text))
    }
}
