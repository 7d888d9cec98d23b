import VLCore

/// The rules a `tokenizer.model` must follow before VLPack encodes with it, and the rules of
/// encoding and decoding calls. Case names are the rule (`RuleError.rule`); each is one of the
/// checks sentencepiece makes when it loads a model, or a feature VLPack refuses rather than
/// approximates.
public enum TokenizerError: RuleError, Equatable {
    /// `trainer_spec.model_type` is not BPE (2): unigram, word and char models encode differently.
    case unsupportedModelType(modelType: Int32)
    /// A non-empty `precompiled_charsmap` (nmt_nfkc and friends): only the identity rule is implemented.
    case unsupportedNormalization(name: String, charsmapBytes: Int)
    /// A `denormalizer_spec` with rules: decoded text would need them applied.
    case unsupportedDenormalization(name: String, charsmapBytes: Int)
    /// `treat_whitespace_as_suffix`: the dummy whitespace at the end (not used by LLaMA).
    case whitespaceAsSuffix(treatWhitespaceAsSuffix: Bool)
    case emptyPiece(id: Int)
    /// The same text twice among the normal/user-defined/unused pieces, or twice among the others.
    case duplicatePiece(id: Int, piece: String)
    case duplicateUnknownPiece(id: Int)
    case missingUnknownPiece(pieces: Int)
    case bytePieceWithoutByteFallback(id: Int, piece: String)
    /// A BYTE piece whose text is not `<0xNN>` (two upper-case hex digits).
    case invalidBytePiece(id: Int, piece: String)
    /// `byte_fallback` needs all 256 byte pieces.
    case incompleteBytePieces(found: Int)
    case idOutOfRange(id: Int, pieces: Int)
    /// A `.vlpack` without the tokenizer tensor.
    case missingTokenizerTensor(name: String)

    public var detail: String {
        switch self {
        case let .unsupportedModelType(t): "trainer_spec.model_type is \(t); only BPE (2) is supported"
        case let .unsupportedNormalization(name, n):
            "normalizer_spec '\(name)' has a \(n)-byte precompiled_charsmap; only the identity rule is supported"
        case let .unsupportedDenormalization(name, n):
            "denormalizer_spec '\(name)' has a \(n)-byte precompiled_charsmap; only the identity rule is supported"
        case .whitespaceAsSuffix: "trainer_spec.treat_whitespace_as_suffix is set; only prefix whitespace is supported"
        case let .emptyPiece(id): "piece \(id) is empty"
        case let .duplicatePiece(id, piece): "piece \(id) '\(piece)' is already defined"
        case let .duplicateUnknownPiece(id): "piece \(id) is a second UNKNOWN piece"
        case let .missingUnknownPiece(n): "none of the \(n) pieces is UNKNOWN"
        case let .bytePieceWithoutByteFallback(id, piece): "byte piece \(id) '\(piece)' although byte_fallback is false"
        case let .invalidBytePiece(id, piece): "byte piece \(id) '\(piece)' is not <0xNN>"
        case let .incompleteBytePieces(found): "byte_fallback needs 256 byte pieces, found \(found)"
        case let .idOutOfRange(id, n): "id \(id) is outside 0..<\(n)"
        case let .missingTokenizerTensor(name): "no tensor '\(name)' holds a tokenizer.model"
        }
    }
}
