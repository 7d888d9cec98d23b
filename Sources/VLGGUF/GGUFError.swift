import VLCore

/// Why a GGUF file could not be exported or written. The case label is the rule (`RuleError`); the
/// CLI prints `vlpack: error: rule: detail`. I/O and the refusal to replace an input come from
/// `AtomicFile` as `AtomicFileError`, unchanged.
public enum GGUFError: RuleError, Equatable {
    // Export: what the `.vlpack` must hold for a llama GGUF.
    /// The `.vlpack` has no `llm` component (or it has no `config`).
    case missingComponent(component: String)
    /// A hyperparameter GGUF needs is absent from the component's config.
    case invalidConfig(component: String, reason: String)
    /// A tensor the llama layout requires (the token embeddings) is absent.
    case missingTensor(component: String, tensor: String)
    /// The header names no embedded `tokenizer.model`, or names a tensor the file lacks (the
    /// advice is for `convert`, which embeds it).
    case missingTokenizer(component: String)
    /// `tokenizer.model` has more pieces than the embeddings have rows: the vocabulary cannot be padded to them.
    case vocabularyExceedsEmbeddings(pieces: Int, rows: Int)
    /// A tensor's storage has no GGML type (integer dtypes, F64, ...).
    case unsupportedStorage(tensor: String, storage: String)
    // Writing: the writer's plan and the bytes supplied.
    /// The ggml dimensions do not give a byte size (negative, overflow, or a row not whole blocks).
    case invalidShape(tensor: String, dims: [Int], type: String)
    /// Tensors must be supplied in plan order.
    case outOfOrder(expected: String?, got: String)
    case byteCountMismatch(tensor: String, expected: Int, written: Int)
    /// `finish()` was called before every planned tensor was written.
    case incomplete(missing: String)
    /// The writer already finished or failed; nothing more can be written.
    case closed(path: String)

    public var detail: String {
        func q(_ s: String) -> String { JSONValue.string(s).serialized() }
        return switch self {
        case let .missingComponent(component): "the .vlpack has no \(component) component"
        case let .invalidConfig(component, reason): "config of '\(component)': \(reason)"
        case let .missingTensor(component, tensor): "component '\(component)' has no tensor '\(tensor)' (truncated or different checkpoint?)"
        case let .missingTokenizer(component): "component '\(component)' needs a tokenizer.model: put it beside the checkpoint or pass --tokenizer"
        case let .vocabularyExceedsEmbeddings(pieces, rows): "tokenizer.model has \(pieces) pieces but the embeddings only \(rows) rows"
        case let .unsupportedStorage(tensor, storage): "cannot convert '\(tensor)' from \(storage) to gguf"
        case let .invalidShape(tensor, dims, type): "tensor \(q(tensor)): shape \(dims) is negative, too large or does not fit \(type)"
        case let .outOfOrder(expected, got): "tensor \(q(got)) supplied, but the plan's next is \(expected.map(q) ?? "nothing")"
        case let .byteCountMismatch(tensor, expected, written): "tensor \(q(tensor)): \(written) bytes supplied, expected \(expected)"
        case let .incomplete(missing): "finish() before tensor \(q(missing)) was written"
        case let .closed(path): "writer for \(path) already finished or failed"
        }
    }
}
