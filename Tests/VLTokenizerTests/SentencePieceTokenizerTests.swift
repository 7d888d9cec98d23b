import Foundation
import Testing
import VLCore
@testable import VLTokenizer

/// Encode and decode against the ids and texts the `sentencepiece` package gives for the sample
/// LLaMA tokenizer (512 pieces), a 32000-piece byte-fallback BPE model and a model with the
/// whitespace-removing defaults, user-defined and control pieces and no byte fallback, and the sample
/// with pieces marked UNUSED (never produced: split back into what they were merged from).
@Suite struct SentencePieceTokenizerTests {
    static let names = ["sample", "bpe32k", "options", "sampleUnused"]

    @Test(arguments: names) func casesEqualSentencePiece(_ name: String) throws {
        let tok = try TokenizerFixtures.tokenizer(name)
        let fixture = TokenizerFixtures.model(name)
        #expect(fixture.cases.count >= 89)
        for c in fixture.cases {
            let ids = tok.encode(c.text)
            #expect(ids == c.ids, "\(name): \(c.text.debugDescription)")
            #expect(try ids.map { try tok.piece($0) } == c.pieces)
            // Bytes, not String ==, which is canonical equivalence (NFC and NFD texts compare equal).
            #expect(Array(try tok.decode(c.ids).utf8) == Array(c.decoded.utf8), "\(name): \(c.text.debugDescription)")
        }
        for c in fixture.byteCases {
            let ids = c.bytes.withUnsafeBufferPointer { tok.encode(utf8: $0) }
            #expect(ids == c.ids, "\(name): bytes \(c.hex)")
        }
    }

    /// decode([id]) then encode, for every piece: [id] back, except where sentencepiece itself gives
    /// something else (pieces without a leading ▁, control pieces, bytes of partial characters, ...).
    @Test(arguments: names) func everyPieceRoundTripsAsSentencePieceDoes(_ name: String) throws {
        let tok = try TokenizerFixtures.tokenizer(name)
        let failures = TokenizerFixtures.model(name).pieceRoundTrip.failures
        var mismatches: [Int32] = []
        for id in 0..<Int32(tok.pieceCount) {
            let back = tok.encode(try tok.decode([id]))
            if back != failures[String(id)] ?? [id] { mismatches.append(id) }
        }
        #expect(mismatches.isEmpty, "\(name): \(mismatches.prefix(20))")
        #expect(failures.count < tok.pieceCount)
    }

    /// Every Unicode scalar value (U+0000…U+10FFFF without surrogates): alone, encode → decode gives it
    /// back except for sentencepiece's own exceptions (U+2581 decodes to a space), which must come out
    /// as sentencepiece's do; in batches of consecutive scalars the ids hash as sentencepiece's do and
    /// decode gives the batch back.
    @Test(arguments: ["sample", "bpe32k"]) func everyScalarValue(_ name: String) throws {
        let tok = try TokenizerFixtures.tokenizer(name)
        let scalars = try #require(TokenizerFixtures.model(name).scalars)
        var kept: [Unicode.Scalar] = []
        for v in UInt32(0)...0x10FFFF {
            guard let s = Unicode.Scalar(v) else { continue }
            if let expected = scalars.exceptions[String(v)] {
                #expect(Array(try tok.decode(tok.encode(String(s))).utf8) == Array(expected.utf8), "U+\(String(v, radix: 16))")
            } else {
                kept.append(s)
            }
        }
        #expect(kept.count + scalars.exceptions.count == 0x110000 - 0x800)
        var badBatches: [Int] = []
        for (k, start) in stride(from: 0, to: kept.count, by: scalars.batch).enumerated() {
            var text = ""
            text.unicodeScalars.append(contentsOf: kept[start..<min(start + scalars.batch, kept.count)])
            let ids = tok.encode(text)
            let hash = Array(ids.map(String.init).joined(separator: ",").utf8).withUnsafeBytes { SHA256.hex(of: $0) }
            let decoded = try tok.decode(ids)
            if k >= scalars.batchSHA256.count || hash != scalars.batchSHA256[k] || !decoded.utf8.elementsEqual(text.utf8) { badBatches.append(k) }
        }
        #expect(badBatches.isEmpty, "\(name): batches \(badBatches.prefix(10))")
        #expect(stride(from: 0, to: kept.count, by: scalars.batch).underestimatedCount == scalars.batchSHA256.count)
    }

    @Test(arguments: names) func specFieldsAreReadAsSentencePieceReadsThem(_ name: String) throws {
        let m = try TokenizerFixtures.modelProto(name), s = TokenizerFixtures.model(name).spec
        let n = m.normalizer, t = m.trainer
        #expect(n.name == s.name && n.precompiledCharsmap.count == s.charsmapBytes && n.addDummyPrefix == s.addDummyPrefix)
        #expect(n.removeExtraWhitespaces == s.removeExtraWhitespaces && n.escapeWhitespaces == s.escapeWhitespaces)
        #expect((m.denormalizer != nil) == s.hasDenormalizer)
        #expect(t.modelType == s.modelType && t.byteFallback == s.byteFallback && t.splitDigits == s.splitDigits)
        #expect(t.unknownSurface == Array(s.unkSurface.utf8))
    }

    @Test func decodeRefusesIdsOutsideTheVocabulary() throws {
        let tok = try TokenizerFixtures.tokenizer("sample")
        #expect(throws: TokenizerError.idOutOfRange(id: 512, pieces: 512)) { try tok.decode([1, 512]) }
        #expect(throws: TokenizerError.idOutOfRange(id: -1, pieces: 512)) { try tok.decode([-1]) }
    }

    @Test func modelsThatEncodeDifferentlyAreRefusedByRule() throws {
        let base = try TokenizerFixtures.modelProto("sample")
        #expect(base.trainer.byteFallback && base.trainer.splitDigits && base.trainer.modelType == TrainerSpec.bpeModelType)
        #expect(base.normalizer.name == "identity" && base.normalizer.addDummyPrefix && !base.normalizer.removeExtraWhitespaces)
        func rule(_ change: (inout SentencePieceModel) -> Void) -> String? {
            var m = base
            change(&m)
            do {
                _ = try SentencePieceTokenizer(model: m)
                return nil
            } catch {
                return error.rule
            }
        }
        #expect(rule { _ in } == nil)
        #expect(rule { $0.trainer.modelType = 1 } == "unsupportedModelType")
        #expect(rule { $0.normalizer.precompiledCharsmap = [1, 2, 3] } == "unsupportedNormalization")
        #expect(
            rule {
                $0.denormalizer = NormalizerSpec(); $0.denormalizer?.precompiledCharsmap = [0]
            } == "unsupportedDenormalization")
        #expect(rule { $0.trainer.treatWhitespaceAsSuffix = true } == "whitespaceAsSuffix")
        #expect(rule { $0.trainer.byteFallback = false } == "bytePieceWithoutByteFallback")
        #expect(rule { $0.pieces[0] = .init(text: "<unk>", score: 0, type: .normal) } == "missingUnknownPiece")
        #expect(rule { $0.pieces[1] = .init(text: "<unk>", score: 0, type: .unknown) } == "duplicatePiece")
        #expect(rule { $0.pieces[1] = .init(text: "<u>", score: 0, type: .unknown) } == "duplicateUnknownPiece")
        #expect(rule { $0.pieces[3] = .init(text: "<0x0g>", score: 0, type: .byte) } == "invalidBytePiece")
        #expect(rule { $0.pieces[3] = .init(text: "<0x01>", score: 0, type: .byte) } == "duplicatePiece")
        #expect(rule { $0.pieces[3] = .init(text: "zz", score: 0, type: .control) } == "incompleteBytePieces")
        #expect(rule { $0.pieces[300] = .init(text: "", score: 0, type: .normal) } == "emptyPiece")
    }
}
