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
        }
    }
}
