import Foundation
import Testing
import VLTestSamples
@testable import VLTokenizer

@Suite struct SentencePieceModelTests {
    @Test func sentencePieceVocabulary() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(Samples.root)/llama-hf/tokenizer.model"))
        let model = try bytes.withUnsafeBytes { try SentencePieceModel(bytes: $0) }
        #expect(model.pieces.count == 512)
        #expect(model.pieces[0] == .init(text: "<unk>", score: 0, type: .unknown))
        #expect(model.pieces[1].type == .control && model.pieces[3].text == "<0x00>" && model.pieces[3].type == .byte)
        #expect((model.bosID, model.eosID, model.unkID, model.padID) == (1, 2, 0, -1))
        #expect(throws: SentencePieceModel.ParseError.self) {
            try bytes.prefix(bytes.count / 2).withUnsafeBytes { try SentencePieceModel(bytes: $0) }
        }
    }
}
