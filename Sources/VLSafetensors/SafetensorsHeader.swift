import VLCore

/// The validated header of a safetensors file.
///
/// Invariants (established by `SafetensorsFile.parseHeader`): tensor names are unique; every
/// tensor's bytes `[fileOffset, fileOffset + byteCount)` lie in the data section; sorted by offset
/// the tensors tile the data section exactly, with no gap, overlap or trailing byte; each
/// `byteCount` equals `product(shape) × dtype.byteSize` and did not overflow.
public struct SafetensorsHeader: Sendable {
    /// Tensors in data-offset order (ties, which only empty tensors can have, broken by name).
    /// Strides are contiguous, `storageOffset` is 0, and `storage.key` is the tensor name.
    public let entries: [TensorEntry]
    /// The `__metadata__` map; empty when the file has none.
    public let metadata: [String: String]
    /// Absolute file offset of the data section: `8 + N`.
    public let dataStart: Int

    /// `MAX_HEADER_SIZE` of the reference reader.
    public static let maxHeaderLength = 100_000_000
}

extension SafetensorsFile {
    /// Validates the framing and header of a whole safetensors file held in `bytes`, trusting
    /// nothing, and returns its tensors. Tensor data is never read. `fileName` only labels the
    /// returned `StorageLocation`s.
    ///
    /// The rules are those of the reference reader (`SafeTensors::read_metadata` and
    /// `Metadata::validate` in `tensor.rs`), in its order except that each tensor's overflow check
    /// runs with its type checks, before the offset walk. VLPack is stricter in three ways:
    /// duplicate keys and unknown tensor-description members are refused, and so are dtypes VLPack
    /// cannot carry (`unknownDType`). See `SafetensorsError` for the rule names.
    ///
    /// Cost: O(N + T log T) for a header of N bytes with T tensors; allocation is proportional to
    /// the header, which is capped at 100 MB before anything is allocated.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer, fileName: String) throws(SafetensorsError) -> SafetensorsHeader {
        let fileSize = bytes.count
        guard fileSize >= 8 else { throw .headerTooSmall(fileSize: fileSize) }
        let rawLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard rawLength <= UInt64(SafetensorsHeader.maxHeaderLength) else {
            throw .headerTooLarge(headerLength: rawLength, limit: SafetensorsHeader.maxHeaderLength)
        }
        let headerLength = Int(rawLength)
        guard let dataStart = Checked.add(8, headerLength), dataStart <= fileSize else {
            throw .invalidHeaderLength(headerLength: headerLength, fileSize: fileSize)
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        let json = try parseJSON(headerBytes)

        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        for (name, value) in json.objectEntries ?? [] {
            if name == "__metadata__" {
                metadata = try parseMetadata(value)
            } else {
                tensors.append(try TensorInfo(name: name, value))
            }
        }

        // The reference's `validate`: in offset order, each tensor starts where the previous one
        // ended, so the ranges tile [0, end) with no gap and no overlap (aliasing is a DoS).
        tensors.sort { a, b in
            if a.begin != b.begin { return a.begin < b.begin }
            if a.end != b.end { return a.end < b.end }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var expectedBegin = 0
        var entries: [TensorEntry] = []
        entries.reserveCapacity(tensors.count)
        for t in tensors {
            guard t.begin == expectedBegin, t.end >= t.begin else {
                throw .invalidOffset(tensor: t.name, begin: t.begin, end: t.end, expectedBegin: expectedBegin)
            }
            guard t.end - t.begin == t.byteCount else {
                throw .tensorSizeMismatch(tensor: t.name, expectedBytes: t.byteCount, begin: t.begin, end: t.end)
            }
            expectedBegin = t.end
            // Cannot overflow: the check below proves dataStart + end <= fileSize for the last end.
            let location = StorageLocation(file: fileName, key: t.name, fileOffset: dataStart &+ t.begin, byteCount: t.byteCount)
            entries.append(
                TensorEntry(
                    name: t.name, dtype: t.dtype, shape: t.shape,
                    strides: TensorEntry.contiguousStrides(t.shape), storageOffset: 0, storage: location))
        }
        // The buffer must be fully indexed: no trailing bytes that another parser could read as
        // something else (polyglots), and no tensor running past the end.
        let dataEnd = Checked.add(dataStart, expectedBegin)
        guard dataEnd == fileSize else {
            throw .metadataIncompleteBuffer(dataEnd: dataEnd ?? Int.max, fileSize: fileSize)
        }
        return SafetensorsHeader(entries: entries, metadata: metadata, dataStart: dataStart)
    }

    /// The header as a JSON object. Refusals map onto the reference's `InvalidHeader`
    /// (UTF-8, first byte) and `InvalidHeaderDeserialization` rules, with duplicates singled out.
    private static func parseJSON(_ header: UnsafeRawBufferPointer) throws(SafetensorsError) -> JSONValue {
        guard header.first == UInt8(ascii: "{") else {
            throw .invalidHeader(fileOffset: 8, reason: "does not start with '{'")
        }
        do {
            return try JSONValue.parse(header)
        } catch {
            switch error {
            case let .invalidUTF8(offset):
                throw .invalidHeader(fileOffset: 8 + offset, reason: "not valid UTF-8")
            case let .duplicateKey(key, offset):
                throw .duplicateKey(key: key, fileOffset: 8 + offset)
            default:
                throw .invalidHeaderJSON(fileOffset: 8 + error.offset, error: error)
            }
        }
    }

    private static func parseMetadata(_ value: JSONValue) throws(SafetensorsError) -> [String: String] {
        guard let members = value.objectEntries else {
            throw .invalidMetadata(key: nil, reason: "is not an object")
        }
        var metadata: [String: String] = [:]
        for (key, v) in members {
            guard let s = v.string else { throw .invalidMetadata(key: key, reason: "value is not a string") }
            metadata[key] = s
        }
        return metadata
    }
}

/// One tensor description, type-checked but not yet placed.
private struct TensorInfo {
    let name: String
    let dtype: DType
    let shape: [Int]
    let begin: Int
    let end: Int
    let byteCount: Int

    init(name: String, _ value: JSONValue) throws(SafetensorsError) {
        func invalid(_ reason: String) -> SafetensorsError { .invalidTensorInfo(tensor: name, reason: reason) }
        guard let members = value.objectEntries else { throw invalid("description is not an object") }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (key, v) in members {
            switch key {
            case "dtype": dtypeValue = v
            case "shape": shapeValue = v
            case "data_offsets": offsetsValue = v
            default: throw invalid("unexpected member \(JSONValue.string(key).serialized())")
            }
        }
        guard let dtypeValue else { throw invalid("missing \"dtype\"") }
        guard let shapeValue else { throw invalid("missing \"shape\"") }
        guard let offsetsValue else { throw invalid("missing \"data_offsets\"") }

        guard let dtypeName = dtypeValue.string else { throw invalid("\"dtype\" is not a string") }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unknownDType(tensor: name, dtype: dtypeName) }
        guard let dims = shapeValue.array else { throw invalid("\"shape\" is not an array") }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for (i, d) in dims.enumerated() {
            guard let n = d.int, n >= 0 else { throw invalid("shape[\(i)] is not a non-negative integer") }
            shape.append(n)
        }
        guard let offsets = offsetsValue.array, offsets.count == 2,
            let begin = offsets[0].int, begin >= 0, let end = offsets[1].int, end >= 0
        else { throw invalid("\"data_offsets\" is not a pair of non-negative integers") }
        guard let byteCount = Checked.byteCount(shape, itemSize: dtype.byteSize) else {
            throw .validationOverflow(tensor: name, shape: shape)
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.end = end
        self.byteCount = byteCount
    }
}
