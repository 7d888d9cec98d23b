import VLCore

/// Why a model could not run. Case names are the rule that failed.
public enum InferenceError: RuleError, Equatable {
    case missingComponent(String)
    case missingConfig(component: String, key: String)
    /// A config value that must divide evenly (image size by patch size, width by heads).
    case configNotDivisible(component: String, key: String, value: Int, by: String, divisor: Int)
    case configNotPositive(component: String, key: String, value: Int)
    /// A config value below the minimum another one implies (mel bins smaller than the stem's kernel).
    case configBelowMinimum(component: String, key: String, value: Int, minimum: Int, because: String)
    case missingTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case unsupportedStorage(tensor: String, storage: String)
    /// One stage's output width is not what the next stage reads (e.g. BLIP-2 Q-Former → video Q-Former).
    case widthsDoNotChain(from: String, produces: Int, to: String, reads: Int)
    /// An input to a stage with the wrong number of values for its shape.
    case inputShapeMismatch(stage: String, expected: [Int], count: Int)
    /// More frames than the frame position table holds.
    case tooManyFrames(count: Int, limit: Int)
    /// More audio clips than the audio position table holds.
    case tooManyClips(count: Int, limit: Int)
    /// A row (token id) outside a table.
    case rowOutOfRange(tensor: String, row: Int, rows: Int)
    /// More positions than the KV cache was sized for.
    case contextFull(needed: Int, capacity: Int)

    public var detail: String {
        switch self {
        case let .missingComponent(c): "the file has no component '\(c)'"
        case let .missingConfig(c, k): "component '\(c)' has no integer/number config '\(k)'"
        case let .configNotDivisible(c, key, value, by, divisor):
            "component '\(c)': \(key) = \(value) is not a multiple of \(by) = \(divisor)"
        case let .configNotPositive(c, key, value): "component '\(c)': \(key) = \(value) must be positive"
        case let .configBelowMinimum(c, key, value, minimum, because):
            "component '\(c)': \(key) = \(value) must be at least \(minimum) (\(because))"
        case let .missingTensor(n): "the file has no tensor '\(n)'"
        case let .shapeMismatch(n, e, a): "tensor '\(n)' has shape \(a), expected \(e)"
        case let .unsupportedStorage(n, s): "tensor '\(n)' is stored as \(s), which inference cannot read"
        case let .widthsDoNotChain(from, produces, to, reads):
            "\(from) produces width \(produces) but \(to) reads width \(reads)"
        case let .inputShapeMismatch(stage, expected, count):
            "\(stage) input must be \(expected) (\(expected.reduce(1, *)) values); got \(count) values"
        case let .tooManyFrames(count, limit): "\(count) frames; the frame position table holds \(limit)"
        case let .tooManyClips(count, limit): "\(count) audio clips; the audio position table holds \(limit)"
        case let .rowOutOfRange(tensor, row, rows): "row \(row) of '\(tensor)' does not exist (it has \(rows) rows)"
        case let .contextFull(needed, capacity): "\(needed) positions do not fit the KV cache of \(capacity)"
        }
    }
}
