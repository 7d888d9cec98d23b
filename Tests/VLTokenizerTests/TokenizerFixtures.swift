import Foundation
import VLTokenizer

/// `Fixtures/tokenizer/cases.json`, written by `Fixtures/tokenizer/generate.py` from the
/// `sentencepiece` package (the only source of expected values here).
struct TokenizerFixtures: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int32]
        let pieces: [String]
        let decoded: String
    }

    struct ByteCase: Decodable {
        let hex: String
        let ids: [Int32]

        var bytes: [UInt8] {
            let u = Array(hex.utf8)
            return stride(from: 0, to: u.count, by: 2).map { UInt8(String(decoding: u[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
        }
    }

    struct PieceRoundTrip: Decodable {
        /// id → encode(decode([id])) where that is not [id].
        let failures: [String: [Int32]]
    }

    struct Scalars: Decodable {
        let batch: Int
        /// scalar → decode(encode(scalar)) where that is not the scalar itself.
        let exceptions: [String: String]
        let batchSHA256: [String]
    }

    /// The `normalizer_spec` / `trainer_spec` fields as sentencepiece's own `sentencepiece_model_pb2` reads them.
    struct Spec: Decodable {
        let name: String
        let charsmapBytes: Int
        let addDummyPrefix: Bool
        let removeExtraWhitespaces: Bool
        let escapeWhitespaces: Bool
        let hasDenormalizer: Bool
        let modelType: Int32
        let byteFallback: Bool
        let splitDigits: Bool
        let unkSurface: String
    }

    struct Model: Decodable {
        let name: String
        let path: String
        let spec: Spec
        let cases: [Case]
        let byteCases: [ByteCase]
        let pieceRoundTrip: PieceRoundTrip
        let scalars: Scalars?
    }

    let sentencepiece: String
    let models: [Model]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static let shared: TokenizerFixtures = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: "\(root)/tokenizer/cases.json"))
        return try! JSONDecoder().decode(TokenizerFixtures.self, from: data)
    }()

    static func model(_ name: String) -> Model { shared.models.first { $0.name == name }! }

    static func tokenizer(_ name: String) throws -> SentencePieceTokenizer {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(model(name).path)"))
        return try data.withUnsafeBytes { try SentencePieceTokenizer(modelBytes: $0) }
    }

    static func modelProto(_ name: String) throws -> SentencePieceModel {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(model(name).path)"))
        return try data.withUnsafeBytes { try SentencePieceModel(bytes: $0) }
    }
}
