import Foundation
import Testing
import VLCore
import VLVerify

/// `vlpack generate` on the sample LLM: the prompt's ids and the greedy continuation equal what
/// sentencepiece and transformers computed for the same prompt (Fixtures/reference/sample_llm.safetensors).
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"), .serialized)
struct GenerateCommandTests {
    static let prompt = "###Human: What is happening in the video? ###Assistant:"

    static func reference() throws -> (ids: [Int], greedy: [Int]) {
        let file = try ReferenceFile(path: "\(CLI.root.path)/Fixtures/reference/sample_llm.safetensors")
        let ids = try #require(try file.tensor(StageName.inputIDs.rawValue, rank: 1)).values.map { Int($0) }
        let greedy = try #require(try file.tensor(StageName.llmGreedyIDs.rawValue, rank: 1)).values.map { Int($0) }
        return (ids, greedy)
    }

    @Test func greedyRawGenerationEqualsTransformers() throws {
        let ref = try Self.reference()
        try FileManager.default.createDirectory(atPath: VerifyReferenceTests.folder, withIntermediateDirectories: true)
        let llm = "\(VerifyReferenceTests.folder)/generate-llm.vlpack"
        try #require(try CLI.run(["convert", "Fixtures/samples/llama-hf", "-o", llm]).status == 0)
        let r = try CLI.run(["generate", llm, "--prompt", Self.prompt, "--greedy", "--max-new-tokens", "\(ref.greedy.count)", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try VerifyReferenceTests.parse(r.stdout)
        #expect(json[key: "prompt_ids"]?.array?.compactMap(\.int) == ref.ids)
        #expect(json[key: "ids"]?.array?.compactMap(\.int) == ref.greedy)
        #expect(json[key: "text"]?.string != nil)
        let timings = json[key: "timings"]
        #expect(timings?[key: "new_tokens"]?.int == ref.greedy.count)
        for key in ["prefill_s", "ttft_s", "decode_tokens_per_s"] { #expect((timings?[key: key]?.double ?? -1) >= 0, "\(key)") }

        // Streaming: the same tokens' text on stdout, timings on stderr; the same seed samples the same text.
        let streamed = try CLI.run(["generate", llm, "--prompt", Self.prompt, "--greedy", "--max-new-tokens", "\(ref.greedy.count)"])
        #expect(streamed.status == 0)
        #expect(streamed.stdout == (json[key: "text"]?.string ?? "") + "\n")
        #expect(streamed.stderr.contains("new tokens"))
        let a = try CLI.run(["generate", llm, "--prompt", "hello", "--seed", "3", "--max-new-tokens", "8", "--json"])
        let b = try CLI.run(["generate", llm, "--prompt", "hello", "--seed", "3", "--max-new-tokens", "8", "--json"])
        let idsA = try VerifyReferenceTests.parse(a.stdout)[key: "ids"], idsB = try VerifyReferenceTests.parse(b.stdout)[key: "ids"]
        #expect(a.status == 0 && idsA?.array?.count == 8 && idsA == idsB)
    }
}
