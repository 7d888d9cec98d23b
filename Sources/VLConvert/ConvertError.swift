import VLCore

/// Why a conversion was refused. Every detail names the source file and tensor involved.
public enum ConvertError: RuleError {
    case invalidMap(map: String, reason: String)
    case invalidConfig(component: String, reason: String)
    case unknownFamily(path: String)
    /// An input that holds no tensor at all (a bare pickle of plain data, an empty state dict).
    /// Inputs with tensors always contribute some: every map requires tensors (`missingTensor`).
    case noTensorContributed(path: String, reason: String)
    case unmappedTensor(file: String, tensor: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    case missingTensor(component: String, tensor: String)
    case duplicateTarget(tensor: String, first: String, second: String)
    case duplicateComponent(component: String, first: String, second: String)
    case crossComponentMismatch(reason: String)
    case shardMismatch(tensor: String, reason: String)
    case narrowingOverflow(tensor: String, count: Int, dtype: String)
    case missingTokenizer(component: String)
    case outputIsInput(path: String)
    case unsupportedDType(tensor: String, dtype: String, target: String)

    public var detail: String {
        switch self {
        case let .invalidMap(map, reason): "model map '\(map)': \(reason)"
        case let .invalidConfig(component, reason): "config of '\(component)': \(reason)"
        case let .noTensorContributed(path, reason): "input \(path) contributes no tensor: \(reason)"
        case let .unknownFamily(path):
            "\(path): not a known Video-LLaMA component (run `vlpack inspect` to see its tensors)"
        case let .unmappedTensor(file, tensor):
            "\(file): tensor '\(tensor)' is not in the model map; pass --allow-unmapped to carry it as extra.*"
        case let .shapeMismatch(file, tensor, expected, found):
            "\(file): tensor '\(tensor)' has shape \(found) but the config implies \(expected) (fix the config with --config)"
        case let .missingTensor(component, tensor):
            "component '\(component)' has no tensor '\(tensor)' (truncated or different checkpoint?)"
        case let .duplicateTarget(tensor, first, second):
            "'\(tensor)' would come from both '\(first)' and '\(second)'"
        case let .duplicateComponent(component, first, second):
            "component '\(component)' is given twice: '\(first)' and '\(second)'"
        case let .crossComponentMismatch(reason): reason
        case let .shardMismatch(tensor, reason): "model-parallel shards of '\(tensor)': \(reason)"
        case let .narrowingOverflow(tensor, count, dtype):
            "\(count) values of '\(tensor)' overflow \(dtype); pass --allow-overflow to accept infinities"
        case let .missingTokenizer(component):
            "component '\(component)' needs a tokenizer.model: put it beside the checkpoint or pass --tokenizer"
        case let .outputIsInput(path): "refusing to overwrite the input \(path)"
        case let .unsupportedDType(tensor, dtype, target): "cannot convert '\(tensor)' from \(dtype) to \(target)"
        }
    }
}
