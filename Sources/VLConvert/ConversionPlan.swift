import VLCheckpoint
import VLCore
import VLPackFormat

/// Everything a conversion will do, decided from metadata alone before any tensor byte is read:
/// which source tensors become which canonical tensors (with dtype and transform), what is skipped
/// and why, each component's config, the tokenizer and the prompt template.
public struct ConversionPlan: @unchecked Sendable {
    public struct Component {
        public let name: String
        public let family: ComponentFamily
        public let input: String
        /// Hyperparameters, in a stable order (defaults, then file, shapes, user overrides, derived).
        public let config: [(key: String, value: JSONValue)]
    }

    /// One output tensor and where its bytes come from.
    public struct Tensor {
        public let name: String
        public let component: String
        public let dtype: DType
        public let shape: [Int]
        /// One source, or one per model-parallel shard (concatenated along `merge`).
        public let sources: [(source: any TensorSource, entry: TensorEntry)]
        public let merge: Int?
        public let transform: ModelMap.Transform?
        /// Attention heads (for the rotary permutation).
        public let heads: Int?

        public var sourceEntry: TensorEntry { sources[0].entry }
        public var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }
    }

    public struct Skipped: Sendable {
        public let file: String
        public let name: String
        public let reason: String
    }

    public let components: [Component]
    public let tensors: [Tensor]
    public let skipped: [Skipped]
    /// Files read, for provenance (checkpoints, configs, tokenizer).
    public let files: [String]
    /// Path of the LLM's SentencePiece model, when an LLM is converted.
    public let tokenizer: String?
    /// The LLM's special tokens with their strip flags (`ConversionInput.specialTokens`).
    public let specialTokens: [JSONValue]
    /// `vicuna` (### separators) or `llama2` ([INST]), when an LLM is converted.
    public let template: String?

    /// Requested output dtype for floating-point tensors.
    public enum DTypeRule: String, Sendable, CaseIterable {
        case keep, f32, f16, bf16

        func output(for source: DType) -> DType {
            guard [.f64, .f32, .f16, .bf16].contains(source) else { return source }
            switch self {
            case .keep: return source
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            }
        }
    }

    public struct Options: Sendable {
        public var dtype: DTypeRule = .keep
        public var allowUnmapped = false
        public var keepUnused = false
        /// Per-component config overrides (`--config FILE.json`: `{"eva_vit": {"depth": 2}, ...}`).
        public var configOverrides: JSONValue = [:]
        public var template: String?
        public var tokenizer: String?
        public init() {}
    }
}
