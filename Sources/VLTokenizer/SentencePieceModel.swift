import VLCore

/// The vocabulary of a SentencePiece `tokenizer.model` (a serialized `ModelProto` protobuf), read
/// without the sentencepiece library: every piece with its score and type, and the special ids.
///
/// Decoded: `pieces` (field 1: `{1: piece, 2: score, 3: type}`), the `trainer_spec` fields that change
/// encoding or name special ids (field 2, see `TrainerSpec`), and `normalizer_spec` /
/// `denormalizer_spec` (fields 3 and 5, see `NormalizerSpec`); everything else is skipped by wire type.
/// Absent fields keep the defaults of `sentencepiece_model.proto`. Every length is checked against the
/// remaining bytes. O(file size). What an encoder accepts is checked by `SentencePieceTokenizer`.
public struct SentencePieceModel: Sendable, Equatable {
    /// SentencePiece's `Type` enum; GGUF's `tokenizer.ggml.token_type` uses the same numbers.
    public enum PieceType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable, Equatable {
        public let text: String
        public let score: Float
        public let type: PieceType
    }

    public var pieces: [Piece]
    /// trainer_spec ids, with SentencePiece's defaults (unk 0, bos 1, eos 2, pad −1).
    public var unkID: Int32 = 0
    public var bosID: Int32 = 1
    public var eosID: Int32 = 2
    public var padID: Int32 = -1
    public var trainer = TrainerSpec()
    public var normalizer = NormalizerSpec()
    /// Applied to decoded text when it has rules; nil when the file has no `denormalizer_spec`.
    public var denormalizer: NormalizerSpec?

    public enum ParseError: RuleError, Equatable {
        case malformed(offset: Int, reason: String)

        public var detail: String {
            switch self {
            case let .malformed(offset, reason): "tokenizer.model: malformed protobuf at byte \(offset): \(reason)"
            }
        }
    }

    public init(bytes: UnsafeRawBufferPointer) throws(ParseError) {
        pieces = []
        var reader = ProtoReader(bytes: bytes, start: 0, end: bytes.count)
        while let (field, wire) = try reader.nextKey() {
            switch (field, wire) {
            case (1, 2):
                let (start, end) = try reader.lengthDelimited()
                pieces.append(try Self.piece(bytes, start, end))
            case (2, 2):
                let (start, end) = try reader.lengthDelimited()
                try readTrainerSpec(bytes, start, end)
            case (3, 2):
                let (start, end) = try reader.lengthDelimited()
                normalizer = try NormalizerSpec(bytes, start, end)
            case (5, 2):
                let (start, end) = try reader.lengthDelimited()
                denormalizer = try NormalizerSpec(bytes, start, end)
            default:
                try reader.skip(wire: wire)
            }
        }
    }

    private mutating func readTrainerSpec(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) throws(ParseError) {
        var spec = ProtoReader(bytes: bytes, start: start, end: end)
        while let (f, w) = try spec.nextKey() {
            switch (f, w) {
            case (3, 0), (24, 0), (25, 0), (35, 0), (40...43, 0):
                let raw = try spec.varint()
                let v = Int32(truncatingIfNeeded: raw)
                switch f {
                case 3: trainer.modelType = v
                case 24: trainer.treatWhitespaceAsSuffix = raw != 0
                case 25: trainer.splitDigits = raw != 0
                case 35: trainer.byteFallback = raw != 0
                case 40: unkID = v
                case 41: bosID = v
                case 42: eosID = v
                default: padID = v
                }
            case (44, 2):
                let (s, e) = try spec.lengthDelimited()
                trainer.unknownSurface = Array(UnsafeRawBufferPointer(rebasing: bytes[s..<e]))
            default:
                try spec.skip(wire: w)
            }
        }
    }

    private static func piece(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) throws(ParseError) -> Piece {
        var r = ProtoReader(bytes: bytes, start: start, end: end)
        var text = "", score: Float = 0, type = PieceType.normal
        while let (f, w) = try r.nextKey() {
            switch (f, w) {
            case (1, 2):
                let (s, e) = try r.lengthDelimited()
                text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[s..<e]), as: UTF8.self)
            case (2, 5):
                score = Float(bitPattern: try r.fixed32())
            case (3, 0):
                let raw = Int32(truncatingIfNeeded: try r.varint())
                guard let t = PieceType(rawValue: raw) else { throw .malformed(offset: r.offset, reason: "unknown piece type \(raw)") }
                type = t
            default:
                try r.skip(wire: w)
            }
        }
        return Piece(text: text, score: score, type: type)
    }
}

/// The `TrainerSpec` fields that change how text is encoded or decoded (defaults as in the proto).
public struct TrainerSpec: Sendable, Equatable {
    /// `model_type` (field 3): UNIGRAM 1, BPE 2, WORD 3, CHAR 4.
    public var modelType: Int32 = 1
    /// `byte_fallback` (35): characters outside the vocabulary become `<0xNN>` pieces, not `<unk>`.
    public var byteFallback = false
    /// `split_digits` (25): a training option; encoding follows the vocabulary, which then has no
    /// multi-digit pieces. Kept for reporting.
    public var splitDigits = false
    /// `treat_whitespace_as_suffix` (24): the dummy whitespace goes at the end instead.
    public var treatWhitespaceAsSuffix = false
    /// `unk_surface` (44): what an `<unk>` piece decodes to.
    public var unknownSurface: [UInt8] = Array(" \u{2047} ".utf8)

    public static let bpeModelType: Int32 = 2
}

/// A `NormalizerSpec` (fields 1–5). The identity rule has an empty `precompiled_charsmap`.
public struct NormalizerSpec: Sendable, Equatable {
    public var name = ""
    public var precompiledCharsmap: [UInt8] = []
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true

    public init() {}

    init(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) throws(SentencePieceModel.ParseError) {
        var r = ProtoReader(bytes: bytes, start: start, end: end)
        while let (f, w) = try r.nextKey() {
            switch (f, w) {
            case (1, 2), (2, 2):
                let (s, e) = try r.lengthDelimited()
                let field = Array(UnsafeRawBufferPointer(rebasing: bytes[s..<e]))
                if f == 1 { name = String(decoding: field, as: UTF8.self) } else { precompiledCharsmap = field }
            case (3, 0): addDummyPrefix = try r.varint() != 0
            case (4, 0): removeExtraWhitespaces = try r.varint() != 0
            case (5, 0): escapeWhitespaces = try r.varint() != 0
            default: try r.skip(wire: w)
            }
        }
    }
}

/// A bounds-checked protobuf wire-format cursor over `[start, end)`.
struct ProtoReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int

    init(bytes: UnsafeRawBufferPointer, start: Int, end: Int) {
        self.bytes = bytes
        offset = start
        self.end = end
    }

    /// The next (field number, wire type), or `nil` at the end.
    mutating func nextKey() throws(SentencePieceModel.ParseError) -> (Int, Int)? {
        guard offset < end else { return nil }
        let key = try varint()
        return (Int(key >> 3), Int(key & 7))
    }

    mutating func varint() throws(SentencePieceModel.ParseError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard offset < end else { throw .malformed(offset: offset, reason: "truncated varint") }
            let b = bytes[offset]
            offset += 1
            value |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { return value }
        }
        throw .malformed(offset: offset, reason: "varint longer than 10 bytes")
    }

    mutating func fixed32() throws(SentencePieceModel.ParseError) -> UInt32 {
        guard end - offset >= 4 else { throw .malformed(offset: offset, reason: "truncated fixed32") }
        defer { offset += 4 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }

    /// The byte range of a length-delimited field, which is skipped.
    mutating func lengthDelimited() throws(SentencePieceModel.ParseError) -> (Int, Int) {
        let n = try varint()
        guard n <= UInt64(end - offset) else { throw .malformed(offset: offset, reason: "length \(n) runs past the end") }
        let start = offset
        offset += Int(n)
        return (start, offset)
    }

    mutating func skip(wire: Int) throws(SentencePieceModel.ParseError) {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard end - offset >= 8 else { throw .malformed(offset: offset, reason: "truncated fixed64") }
            offset += 8
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw .malformed(offset: offset, reason: "unsupported wire type \(wire)")
        }
    }
}
