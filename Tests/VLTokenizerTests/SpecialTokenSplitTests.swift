import Foundation
import Testing
@testable import VLTokenizer

/// The LlamaTokenizer layer against transformers 4.28.0's slow `LlamaTokenizer` on the sample folder
/// with Video-LLaMA's added tokens (`Fixtures/tokenizer/generate_llama.py` → `llama-cases.json`), and on
/// a copy whose special tokens are plain strings (`llama-cases-plain.json`: stripped on both sides).
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

    struct Special: Decodable {
        let content: String
        let lstrip: Bool
        let rstrip: Bool
    }

    struct Fixture: Decodable {
        let transformers: String
        let added: [Added]
        let special: [Special]
        let cases: [Case]
        let decodes: [Decode]
    }

    struct Decode: Decodable {
        let ids: [Int32]
        let text: String
    }

    @Test(arguments: ["llama-cases.json", "llama-cases-plain.json"])
    func idsEqualTransformers428(fixtureName: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(TokenizerFixtures.root)/tokenizer/\(fixtureName)"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        #expect(fixture.transformers == "4.28.0" && fixture.cases.count > 300)
        let tok = try TokenizerFixtures.tokenizer("sample")
        let flags = Dictionary(
            fixture.special.map { ($0.content, SpecialTokenSplit.StripFlags(lstrip: $0.lstrip, rstrip: $0.rstrip)) }, uniquingKeysWith: { a, _ in a })
        let split = SpecialTokenSplit.llama(tok, added: fixture.added.map { ($0.content, $0.id) }, special: flags)
        #expect(split.tokens.map(\.content) == ["<unk>", "<s>", "</s>", "<ImageHere>", "<AudioHere>"])
        var wrong: [String] = []
        for c in fixture.cases where split.encode(c.text, with: tok) != c.ids { wrong.append(c.text) }
        #expect(wrong.isEmpty, "\(wrong.prefix(5).map(\.debugDescription))")
    }

    /// `decodeAsLlamaTokenizer` equals transformers 4.28.0's `LlamaTokenizer.decode` (what the official
    /// `Chat.answer` calls): `<s>`/`</s>`/`<unk>` kept as text with their spacing, added tokens joined
    /// with spaces, on the cases' ids, hand-made lists and 200 random id lists.
    @Test(arguments: ["llama-cases.json", "llama-cases-plain.json"])
    func decodeEqualsTransformers428(fixtureName: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(TokenizerFixtures.root)/tokenizer/\(fixtureName)"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        #expect(fixture.decodes.count > 250)
        let tok = try TokenizerFixtures.tokenizer("sample")
        let split = SpecialTokenSplit.llama(tok, added: fixture.added.map { ($0.content, $0.id) })
        var wrong: [String] = []
        for d in fixture.decodes where (try split.decodeAsLlamaTokenizer(d.ids, with: tok)) != d.text {
            wrong.append("\(d.ids): \(d.text.debugDescription) got \((try? split.decodeAsLlamaTokenizer(d.ids, with: tok))?.debugDescription ?? "error")")
        }
        #expect(wrong.isEmpty, "\(wrong.count) differ: \(wrong.prefix(3))")
    }

    /// Added-token ids decode to their content, the runs between them by SentencePiece.
    @Test func addedTokensDecodeToTheirContent() throws {
        let tok = try TokenizerFixtures.tokenizer("sample")
        let split = SpecialTokenSplit.llama(tok, added: [("<ImageHere>", 512), ("<AudioHere>", 513)])
        let hello = tok.encode("Hello"), world = tok.encode("world")
        #expect(try split.decode(hello + [512] + world + [513], with: tok) == "Hello<ImageHere>world<AudioHere>")
        #expect(try split.decode(hello, with: tok) == tok.decode(hello))
        #expect(throws: TokenizerError.self) { try split.decode([514], with: tok) }
    }
}
