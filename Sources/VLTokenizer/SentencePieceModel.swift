import VLCore

/// The vocabulary of a SentencePiece `tokenizer.model` (a serialized `ModelProto` protobuf), read
/// without the sentencepiece library: every piece with its score and type, and the special ids.
///
/// Only the fields GGUF needs are decoded — `pieces` (field 1: `{1: piece, 2: score, 3: type}`) and
/// `trainer_spec` (field 2: `unk_id` 40, `bos_id` 41, `eos_id` 42, `pad_id` 43); everything else is
/// skipped by wire type. Every length is checked against the remaining bytes. O(file size).
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
                var spec = ProtoReader(bytes: bytes, start: start, end: end)
                while let (f, w) = try spec.nextKey() {
                    if w == 0, (40...43).contains(f) {
                        let v = Int32(truncatingIfNeeded: try spec.varint())
                        switch f {
                        case 40: unkID = v
                        case 41: bosID = v
                        case 42: eosID = v
                        default: padID = v
                        }
                    } else {
                        try spec.skip(wire: w)
                    }
                }
            default:
                try reader.skip(wire: wire)
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
