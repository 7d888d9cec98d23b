import Foundation
import Testing
@testable import VLTokenizer

/// The LlamaTokenizer layer against transformers 4.28.0's slow `LlamaTokenizer` on the sample folder
/// with Video-LLaMA's added tokens (`Fixtures/tokenizer/generate_llama.py` → `llama-cases.json`).
@Suite struct SpecialTokenSplitTests {
    struct Added: Decodable {
        let content: String
        let id: Int32
    }

    struct Case: Decodable {
        let text: String
        let ids: [Int32]
        let tokens: [String]
    }

    struct Fixture: Decodable {
        let transformers: String
        let added: [Added]
        let cases: [Case]
    }

    @Test func idsEqualTransformers428() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(TokenizerFixtures.root)/tokenizer/llama-cases.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        #expect(fixture.transformers == "4.28.0" && fixture.cases.count > 300)
        let tok = try TokenizerFixtures.tokenizer("sample")
        let split = SpecialTokenSplit.llama(tok, added: fixture.added.map { ($0.content, $0.id) })
        #expect(split.tokens.map(\.content) == ["<unk>", "<s>", "</s>", "<ImageHere>", "<AudioHere>"])
        var wrong: [String] = []
        for c in fixture.cases where split.encode(c.text, with: tok) != c.ids { wrong.append(c.text) }
        #expect(wrong.isEmpty, "\(wrong.prefix(5).map(\.debugDescription))")
    }
}
