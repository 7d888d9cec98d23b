#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VLCore

/// Why a `.vlpack` file was refused at open, or what `verifyIntegrity()` found. The case label is
/// the rule (Formats/VLPACK.md §7 lists them); offsets are absolute file offsets unless a field says
/// otherwise.
public enum VLPackError: RuleError, Equatable {
    // Preamble.
    /// The file is shorter than its preamble says (or shorter than the preamble itself).
    case truncated(expected: Int, actual: Int)
    /// The file is longer than `dataOffset + dataLength`: bytes no checksum covers.
    case trailingBytes(expected: Int, actual: Int)
    case badMagic(found: String)
    case unsupportedVersion(version: UInt32)
    case preambleChecksumMismatch(stored: UInt32, computed: UInt32)
    case unsupportedFlags(flags: UInt32)
    case nonZeroReserved(offset: Int)
    case badAlignment(alignment: UInt32)
    case headerTooLarge(length: UInt64, limit: Int)
    /// `dataOffset` is not `align_up(64 + headerLength, alignment)`.
    case dataOffsetMismatch(found: UInt64, expected: Int)
    // Header.
    /// A byte between the end of the JSON and the data section is not a space.
    case badHeaderPadding(offset: Int)
    case headerChecksumMismatch(stored: UInt32, computed: UInt32)
    case invalidHeaderJSON(JSONError)
    /// The JSON is well formed but a member is missing or of the wrong kind; `field` is a path such as
    /// `tensors[3].shape`.
    case invalidHeader(field: String, reason: String)
    // Tensor table.
    case duplicateTensor(name: String)
    case unknownDType(tensor: String, dtype: String)
    /// Negative dimension, overflow, or a row length that is not a multiple of the block size.
    case invalidShape(tensor: String, shape: [Int], dtype: String)
    /// `nbytes` differs from what dtype and shape call for.
    case sizeMismatch(tensor: String, nbytes: Int, expected: Int)
    /// `offset` (relative to the data section) is not a multiple of the file's alignment.
    case misalignedTensor(tensor: String, offset: Int, alignment: Int)
    case tensorOutOfBounds(tensor: String, offset: Int, nbytes: Int, dataLength: Int)
    /// The tensor starts before the end of the previous table entry (entries are sorted by offset).
    case overlappingTensors(tensor: String, offset: Int, previous: String, previousEnd: Int)
    /// A header member (e.g. `tokenizer.model_tensor`) names a tensor that is absent or of the wrong type.
    case badTensorReference(field: String, tensor: String)
    // Integrity (`verifyIntegrity()`).
    case tensorChecksumMismatch(tensor: String, offset: Int, stored: UInt32, computed: UInt32)
    /// Gap bytes in the data section (alignment padding) are not all zero.
    case nonZeroPadding(offset: Int, length: Int)
    // API use.
    /// `bytes(of:)` was asked for a tensor the file does not have.
    case unknownTensor(name: String)

    public var detail: String {
        func q(_ s: String) -> String { JSONValue.string(s).serialized() }
        func hex(_ v: UInt32) -> String { crcHex(v) }
        return switch self {
        case let .truncated(expected, actual): "file has \(actual) bytes, its layout needs \(expected); it was cut short"
        case let .trailingBytes(expected, actual): "file has \(actual) bytes, its layout ends at \(expected)"
        case let .badMagic(found): "first 8 bytes are \(found), not \"VLPACK\\0\\0\""
        case let .unsupportedVersion(v): "format version \(v) at offset 8; this reader knows version 1"
        case let .preambleChecksumMismatch(stored, computed): "preamble CRC-32 at offset 60 is \(hex(stored)), bytes 0..<60 give \(hex(computed))"
        case let .unsupportedFlags(flags): "flags 0x\(String(flags, radix: 16)) at offset 12; version 1 defines none"
        case let .nonZeroReserved(offset): "reserved preamble byte at offset \(offset) is not zero"
        case let .badAlignment(a): "alignment \(a) at offset 28; must be 64 or 4096"
        case let .headerTooLarge(length, limit): "header length \(length) at offset 16 exceeds the limit of \(limit)"
        case let .dataOffsetMismatch(found, expected): "data offset \(found) at offset 32; the header length and alignment give \(expected)"
        case let .badHeaderPadding(offset): "header padding byte at offset \(offset) is not a space"
        case let .headerChecksumMismatch(stored, computed): "header CRC-32 is \(hex(stored)) (offset 24), the JSON bytes give \(hex(computed))"
        case let .invalidHeaderJSON(e): "header JSON (starting at offset 64): \(e)"
        case let .invalidHeader(field, reason): "header member \(field): \(reason)"
        case let .duplicateTensor(name): "tensor \(q(name)) appears twice in the table"
        case let .unknownDType(tensor, dtype): "tensor \(q(tensor)) has unknown dtype \(q(dtype))"
        case let .invalidShape(tensor, shape, dtype):
            "tensor \(q(tensor)): shape \(shape) is negative, overflows, or does not fit \(dtype)'s block size"
        case let .sizeMismatch(tensor, nbytes, expected): "tensor \(q(tensor)): nbytes \(nbytes), dtype and shape need \(expected)"
        case let .misalignedTensor(tensor, offset, alignment): "tensor \(q(tensor)): data offset \(offset) is not a multiple of \(alignment)"
        case let .tensorOutOfBounds(tensor, offset, nbytes, dataLength):
            "tensor \(q(tensor)): bytes \(offset)..<\(offset &+ nbytes) are outside the data section of \(dataLength) bytes"
        case let .overlappingTensors(tensor, offset, previous, previousEnd):
            "tensor \(q(tensor)) starts at data offset \(offset), before the end \(previousEnd) of \(q(previous))"
        case let .badTensorReference(field, tensor): "\(field) names tensor \(q(tensor)), which is missing or not U8"
        case let .tensorChecksumMismatch(tensor, offset, stored, computed):
            "tensor \(q(tensor)) at file offset \(offset) is corrupted: CRC-32 \(hex(computed)), table says \(hex(stored))"
        case let .nonZeroPadding(offset, length): "padding of \(length) bytes at file offset \(offset) is not all zero"
        case let .unknownTensor(name): "the file has no tensor \(q(name))"
        }
    }
}

/// Why a `.vlpack` file could not be written.
public enum VLPackWriteError: RuleError, Equatable {
    case duplicateTensor(name: String)
    /// Empty names, and names that are not valid as JSON strings, are refused.
    case invalidName(name: String)
    case invalidShape(tensor: String, shape: [Int], dtype: String)
    /// A header part (`components`, `tokenizer`, ...) is not a JSON object.
    case invalidHeaderPart(key: String)
    case headerTooLarge(length: Int, limit: Int)
    /// `tokenizer.model_tensor` names no planned U8 tensor.
    case badTensorReference(field: String, tensor: String)
    /// Tensors must be supplied in plan order.
    case outOfOrder(expected: String?, got: String)
    case byteCountMismatch(tensor: String, expected: Int, written: Int)
    /// `finish()` was called before every planned tensor was written.
    case incomplete(missing: String)
    /// A header part replaced at `finish()` changed the header's reserved length.
    case headerLengthChanged(reserved: Int, actual: Int)
    /// The writer already finished or failed; nothing more can be written.
    case closed(path: String)
    case overwritesInput(path: String, input: String)
    /// The output path exists as a directory, FIFO or device.
    case notARegularFile(path: String, kind: String)
    case io(path: String, operation: String, errno: Int32)

    public var detail: String {
        func q(_ s: String) -> String { JSONValue.string(s).serialized() }
        return switch self {
        case let .duplicateTensor(name): "tensor \(q(name)) is planned twice"
        case let .invalidName(name): "tensor name \(q(name)) is empty"
        case let .invalidShape(tensor, shape, dtype): "tensor \(q(tensor)): shape \(shape) is negative, too large or does not fit \(dtype)"
        case let .invalidHeaderPart(key): "header part \(q(key)) must be a JSON object"
        case let .headerTooLarge(length, limit): "header of \(length) bytes exceeds the limit of \(limit)"
        case let .badTensorReference(field, tensor): "\(field) names tensor \(q(tensor)), which is not a planned U8 tensor"
        case let .outOfOrder(expected, got): "tensor \(q(got)) supplied, but the plan's next is \(expected.map(q) ?? "nothing")"
        case let .byteCountMismatch(tensor, expected, written): "tensor \(q(tensor)): \(written) bytes supplied, expected \(expected)"
        case let .incomplete(missing): "finish() before tensor \(q(missing)) was written"
        case let .headerLengthChanged(reserved, actual): "header would be \(actual) bytes at finish() but \(reserved) were reserved"
        case let .closed(path): "writer for \(path) already finished or failed"
        case let .overwritesInput(path, input): "output \(path) is the input \(input); choose another output path"
        case let .notARegularFile(path, kind): "output \(path) is \(kind), not a regular file; name a file to write"
        case let .io(path, operation, e): "\(operation) \(path): \(String(cString: strerror(e)))"
        }
    }

    init(_ error: AtomicFileError) {
        switch error {
        case let .io(path, operation, e): self = .io(path: path, operation: operation, errno: e)
        case let .overwritesInput(path, input): self = .overwritesInput(path: path, input: input)
        case let .notARegularFile(path, kind): self = .notARegularFile(path: path, kind: kind)
        }
    }
}

/// One problem found by `VLPackFile.verifyIntegrity()`: the tensor it concerns (`nil` for padding
/// between tensors) and the rule that failed.
public struct IntegrityProblem: Sendable, Equatable, CustomStringConvertible {
    public let tensor: String?
    public let error: VLPackError

    public var description: String { error.description }
}

/// `0a1b2c3d`: the fixed-width spelling of a CRC-32 in the tensor table and in messages.
func crcHex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 8 - s.count) + s
}
