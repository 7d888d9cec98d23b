import VLCore

/// Why a reference or embedding file could not be compared. Case names are the rule that failed.
public enum VerifyError: RuleError, Equatable {
    /// REFERENCE.md requires every tensor to be F32.
    case referenceNotF32(tensor: String, dtype: String)
    case referenceRankMismatch(tensor: String, shape: [Int], rank: Int)
    /// The reference holds none of the stages a check needs.
    case noStageInReference(expected: [String])
    /// A reference tensor with another element count than the model's output for it.
    case referenceSizeMismatch(stage: String, reference: Int, model: Int)
    case embeddingShapeMismatch(stage: String, embedding: [Int], reference: [Int])
    /// An embedding file and a reference file with no stage name in common.
    case noSharedStage
    /// `verify --against` and `--text` go together; `--ctx` and `--chunks` need them.
    case optionNeedsOption(option: String, needs: String)
    /// llama-perplexity scores rows ⌊ctx/2⌋ … ctx−2 of a chunk: ctx must leave at least one.
    case contextTooShort(ctx: Int, minimum: Int)
    case chunkCountNotPositive(chunks: Int)
    /// llama-perplexity needs at least 2·ctx tokens of text.
    case textTooShort(tokens: Int, needed: Int, ctx: Int)
    /// The model and the float model it is compared with differ in shape.
    case modelConfigMismatch(key: String, model: Int, base: Int)
    /// The model and the float model carry different tokenizers.
    case tokenizersDiffer(modelBytes: Int, baseBytes: Int)
    /// A chat reference lacks a metadata entry its replay needs.
    case referenceMetadataMissing(key: String)
    /// A chat reference made from a video or image, replayed without `--video` / `--image`.
    case chatReferenceNeedsMedia(upload: String)

    public var detail: String {
        switch self {
        case let .referenceNotF32(tensor, dtype): "reference tensor '\(tensor)' is \(dtype); REFERENCE.md requires F32"
        case let .referenceRankMismatch(tensor, shape, rank): "reference tensor '\(tensor)' has shape \(shape); expected rank \(rank)"
        case let .noStageInReference(expected): "the reference has none of \(expected.joined(separator: ", "))"
        case let .referenceSizeMismatch(stage, reference, model):
            "reference '\(stage)' has \(reference) values; the model produced \(model)"
        case let .embeddingShapeMismatch(stage, embedding, reference):
            "'\(stage)' is \(embedding) in the embedding but \(reference) in the reference"
        case .noSharedStage: "the embedding and the reference share no tensor names"
        case let .optionNeedsOption(option, needs): "\(option) needs \(needs)"
        case let .contextTooShort(ctx, minimum): "--ctx \(ctx) leaves no scored position; it must be at least \(minimum)"
        case let .chunkCountNotPositive(chunks): "--chunks \(chunks); it must be at least 1"
        case let .textTooShort(tokens, needed, ctx):
            "the text is \(tokens) tokens (BOS included); a context of \(ctx) needs at least \(needed), as llama-perplexity does"
        case let .modelConfigMismatch(key, model, base): "llm \(key) is \(model) in the model but \(base) in the float model"
        case let .tokenizersDiffer(modelBytes, baseBytes):
            "the model's tokenizer (\(modelBytes) bytes) differs from the float model's (\(baseBytes) bytes)"
        case let .referenceMetadataMissing(key): "the chat reference's __metadata__ has no '\(key)'"
        case let .chatReferenceNeedsMedia(upload): "the reference was made by \(upload): pass the file it was made from with --video or --image"
        }
    }
}
