import VLCore

/// Why a safetensors file was refused. Case names follow the rules of the reference reader
/// (`safetensors/src/tensor.rs`); VLPack is stricter where noted. File offsets are absolute.
public enum SafetensorsError: RuleError, Equatable {
    /// The file is shorter than the 8-byte header length.
    case headerTooSmall(fileSize: Int)
    /// The header length exceeds the reference's 100,000,000-byte cap.
    case headerTooLarge(headerLength: UInt64, limit: Int)
    /// `8 + N` does not fit inside the file.
    case invalidHeaderLength(headerLength: Int, fileSize: Int)
    /// The header is not UTF-8, or does not start with `{`.
    case invalidHeader(fileOffset: Int, reason: String)
    /// The header is not a valid JSON document.
    case invalidHeaderJSON(fileOffset: Int, error: JSONError)
    /// A key appears twice in one header object. The reference's JSON parser keeps the last one
    /// silently; VLPack refuses, so no reader can see a different tensor than this one.
    case duplicateKey(key: String, fileOffset: Int)
    /// `__metadata__` is not an object mapping strings to strings.
    case invalidMetadata(key: String?, reason: String)
    /// A tensor's description is not `{"dtype": string, "shape": [int], "data_offsets": [int, int]}`
    /// with exactly those members and non-negative integers.
    case invalidTensorInfo(tensor: String, reason: String)
    /// A dtype VLPack does not know. Sub-byte (`F4`, `F6_*`) and other exotic types land here too.
    case unknownDType(tensor: String, dtype: String)
    /// `product(shape) × itemsize` overflows.
    case validationOverflow(tensor: String, shape: [Int])
    /// `end − begin` differs from the tensor's byte size.
    case tensorSizeMismatch(tensor: String, expectedBytes: Int, begin: Int, end: Int)
    /// `begin > end`, or (in data-offset order) a tensor does not start where the previous ended:
    /// a gap, an overlap, or a first tensor not at 0.
    case invalidOffset(tensor: String, begin: Int, end: Int, expectedBegin: Int)
    /// The tensors do not cover the data section exactly (missing bytes or trailing bytes).
    case metadataIncompleteBuffer(dataEnd: Int, fileSize: Int)
    /// `bytes(of:)` was asked for a tensor this file does not hold.
    case tensorNotFound(tensor: String)

    public var detail: String {
        switch self {
        case let .headerTooSmall(size):
            "file has \(size) bytes; at least 8 are needed for the header length"
        case let .headerTooLarge(n, limit):
            "header length \(n) exceeds the limit of \(limit) bytes"
        case let .invalidHeaderLength(n, size):
            "header of \(n) bytes at offset 8 does not fit in the file of \(size) bytes"
        case let .invalidHeader(offset, reason):
            "header at offset \(offset): \(reason)"
        case let .invalidHeaderJSON(offset, error):
            "header JSON at file offset \(offset): \(error)"
        case let .duplicateKey(key, offset):
            "key \(quoted(key)) appears twice in the header (second at file offset \(offset))"
        case let .invalidMetadata(key, reason):
            key.map { "__metadata__ entry \(quoted($0)): \(reason)" } ?? "__metadata__: \(reason)"
        case let .invalidTensorInfo(tensor, reason):
            "tensor \(quoted(tensor)): \(reason)"
        case let .unknownDType(tensor, dtype):
            "tensor \(quoted(tensor)): unsupported dtype \(quoted(dtype))"
        case let .validationOverflow(tensor, shape):
            "tensor \(quoted(tensor)): byte size of shape \(shape) overflows"
        case let .tensorSizeMismatch(tensor, expected, begin, end):
            "tensor \(quoted(tensor)): data_offsets [\(begin), \(end)] span \(end - begin) bytes, shape and dtype need \(expected)"
        case let .invalidOffset(tensor, begin, end, expectedBegin):
            begin > end
                ? "tensor \(quoted(tensor)): data_offsets [\(begin), \(end)] end before they begin"
                : "tensor \(quoted(tensor)): data_offsets [\(begin), \(end)] should begin at \(expectedBegin) (gap or overlap)"
        case let .metadataIncompleteBuffer(dataEnd, size):
            "tensor data ends at file offset \(dataEnd) but the file has \(size) bytes"
        case let .tensorNotFound(tensor):
            "no tensor named \(quoted(tensor)) in this file"
        }
    }

    private func quoted(_ s: String) -> String { JSONValue.string(s).serialized() }
}
