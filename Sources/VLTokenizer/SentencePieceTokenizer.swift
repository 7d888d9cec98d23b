import VLCore

/// Encodes and decodes exactly as the `sentencepiece` library (0.2.x) does for a BPE
/// `tokenizer.model`: the model's `normalizer_spec` (identity rule only), BPE merges by piece score,
/// byte fallback for characters outside the vocabulary (or one `<unk>` per run of them without it),
/// user-defined pieces matched whole, control pieces invisible when decoding. No BOS/EOS is added:
/// `encode` returns what `SentencePieceProcessor.encode` returns, and a literal `</s>` in the text is
/// ordinary characters.
///
/// Invariants (checked at init, as the library checks at load): model type BPE, no normalization or
/// denormalization rules, no empty or duplicate piece, exactly one UNKNOWN piece, BYTE pieces only
/// with `byte_fallback` and then all 256 of them. Cost: init O(pieces); encode O(n log n) in the text
/// length (`BPEEncoder`); decode O(total piece length).
public struct SentencePieceTokenizer: Sendable {
    public let model: SentencePieceModel
    private let bpe: BPEEncoder
    private let normalizer: IdentityNormalizer
    let pieceBytes: [[UInt8]]
    /// The byte a BYTE piece stands for, −1 for the other pieces.
    let byteValue: [Int16]
    /// The id of `<0xNN>` for each byte; empty without byte fallback.
    private let byteIDs: [Int32]
    private let isUnknown: [Bool]

    public init(model: SentencePieceModel) throws(TokenizerError) {
        let spec = model.trainer
        guard spec.modelType == TrainerSpec.bpeModelType else { throw .unsupportedModelType(modelType: spec.modelType) }
        guard model.normalizer.precompiledCharsmap.isEmpty else {
            throw .unsupportedNormalization(name: model.normalizer.name, charsmapBytes: model.normalizer.precompiledCharsmap.count)
        }
        if let d = model.denormalizer, !d.precompiledCharsmap.isEmpty {
            throw .unsupportedDenormalization(name: d.name, charsmapBytes: d.precompiledCharsmap.count)
        }
        guard !spec.treatWhitespaceAsSuffix else { throw .whitespaceAsSuffix(treatWhitespaceAsSuffix: true) }

        var mergeable = PieceTable(capacity: model.pieces.count), reserved = PieceTable(capacity: model.pieces.count)
        var userDefined: [[UInt8]] = [], unknownID: Int32 = -1
        var byteValue = [Int16](repeating: -1, count: model.pieces.count), byteIDs = [Int32](repeating: -1, count: 256)
        let pieceBytes = model.pieces.map { Array($0.text.utf8) }
        for (i, piece) in model.pieces.enumerated() {
            let bytes = pieceBytes[i]
            guard !bytes.isEmpty else { throw .emptyPiece(id: i) }
            let isMergeable = [.normal, .userDefined, .unused].contains(piece.type)
            let fresh = isMergeable ? mergeable.insert(bytes, id: Int32(i)) : reserved.insert(bytes, id: Int32(i))
            guard fresh else { throw .duplicatePiece(id: i, piece: piece.text) }
            switch piece.type {
            case .userDefined: userDefined.append(bytes)
            case .unknown:
                guard unknownID < 0 else { throw .duplicateUnknownPiece(id: i) }
                unknownID = Int32(i)
            case .byte:
                guard spec.byteFallback else { throw .bytePieceWithoutByteFallback(id: i, piece: piece.text) }
                guard let b = Self.byte(ofPiece: piece.text) else { throw .invalidBytePiece(id: i, piece: piece.text) }
                byteValue[i] = Int16(b)
                byteIDs[Int(b)] = Int32(i)
            default: break
            }
        }
        guard unknownID >= 0 else { throw .missingUnknownPiece(pieces: model.pieces.count) }
        if spec.byteFallback {
            let found = byteIDs.filter { $0 >= 0 }.count
            guard found == 256 else { throw .incompleteBytePieces(found: found) }
        }
        let matcher = UserDefinedMatcher(userDefined)
        self.model = model
        self.pieceBytes = pieceBytes
        self.byteValue = byteValue
        self.byteIDs = spec.byteFallback ? byteIDs : []
        isUnknown = model.pieces.map { $0.type == .unknown }
        normalizer = IdentityNormalizer(spec: model.normalizer, matcher: matcher)
        bpe = BPEEncoder(
            mergeable: mergeable, reserved: reserved, scores: model.pieces.map(\.score),
            unused: model.pieces.map { $0.type == .unused }, matcher: matcher, unknownID: unknownID)
    }

    /// Reads a serialized `ModelProto` and checks it. Throws `SentencePieceModel.ParseError` or `TokenizerError`.
    public init(modelBytes: UnsafeRawBufferPointer) throws {
        try self.init(model: SentencePieceModel(bytes: modelBytes))
    }

    /// `<0xNN>` → NN, exactly as the library spells byte pieces (two upper-case hex digits).
    static func byte(ofPiece text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        guard let hi = hex(u[3]), let lo = hex(u[4]) else { return nil }
        return hi << 4 | lo
    }

    public var pieceCount: Int { model.pieces.count }

    /// The piece text of `id` (sentencepiece's `id_to_piece`).
    public func piece(_ id: Int32) throws(TokenizerError) -> String {
        guard id >= 0, Int(id) < model.pieces.count else { throw .idOutOfRange(id: Int(id), pieces: model.pieces.count) }
        return model.pieces[Int(id)].text
    }

    public func encode(_ text: String) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(utf8: $0) }
    }

    /// Encodes raw bytes as the library's C++ `Encode` does: a byte that starts no valid UTF-8
    /// character is read as U+FFFD.
    public func encode(utf8 input: UnsafeBufferPointer<UInt8>) -> [Int32] {
        let normalized = normalizer.normalize(input)
        var ids: [Int32] = []
        ids.reserveCapacity(normalized.count / 2)
        var previousUnknown = false
        let fallback = !byteIDs.isEmpty
        normalized.withUnsafeBufferPointer { text in
            bpe.encode(text) { range, id in
                let isUnknown = self.isUnknown[Int(id)]
                if isUnknown && fallback {
                    for b in text[range] { ids.append(byteIDs[Int(b)]) }
                } else if !(isUnknown && previousUnknown) {
                    // A run of unknown pieces is one <unk> (the library merges their surfaces).
                    ids.append(id)
                }
                previousUnknown = isUnknown
            }
        }
        return ids
    }
}
