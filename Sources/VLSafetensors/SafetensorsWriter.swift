#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VLCore

/// Writes a safetensors file that the reference reader accepts, streaming one tensor at a time.
///
/// Layout:
/// - Tensors are ordered by descending element size, then by name (UTF-8 byte order), and packed
///   with no gaps, as the reference writer does. Since every size is a multiple of the sizes that
///   follow it, each tensor starts at a multiple of its own element size.
/// - The JSON header (`__metadata__` first, with its keys sorted, then tensors in data order) is
///   padded with spaces so that `8 + N` is a multiple of 64. The reference pads to 8; 64 makes the
///   data section start on a cache-line (and SIMD-register) boundary of a page-aligned mapping,
///   so the first and largest-element tensors are 64-byte aligned. Readers accept any padding.
///
/// Atomicity (`AtomicFile`): data goes to an unnamed (or, as a fallback, hidden named) temporary file
/// in the target folder, which is fsynced and then linked and renamed over `path` (and the folder
/// fsynced). A failure at any point, including an error thrown
/// by a producer, removes the temporary file and leaves `path` untouched; an existing file at
/// `path` stays valid for anyone who has it mapped.
///
/// Memory: only the header and a 1 MiB write buffer; tensor bytes come from producers when written.
public struct SafetensorsWriter {
    /// Supplies a tensor's bytes (little-endian, C order) by calling `write` any number of times
    /// with consecutive chunks. It is called once, during `finish()`, and must write exactly
    /// `product(shape) × dtype.byteSize` bytes in total.
    public typealias Producer = (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

    public let path: String
    /// Written as `__metadata__` when not empty.
    public var metadata: [String: String]

    private struct Pending {
        let name: String
        let dtype: DType
        let shape: [Int]
        let byteCount: Int
        let producer: Producer
    }

    private var pending: [Pending] = []
    private var names: Set<String> = []

    public init(path: String, metadata: [String: String] = [:]) {
        self.path = path
        self.metadata = metadata
    }

    /// Registers a tensor; nothing is written or produced until `finish()`. O(1).
    public mutating func add(name: String, dtype: DType, shape: [Int], bytes producer: @escaping Producer) throws(SafetensorsWriteError) {
        guard name != "__metadata__" else { throw .reservedName(name: name) }
        guard names.insert(name).inserted else { throw .duplicateTensor(name: name) }
        guard let byteCount = Checked.byteCount(shape, itemSize: dtype.byteSize) else {
            names.remove(name)
            throw .invalidShape(tensor: name, shape: shape)
        }
        pending.append(Pending(name: name, dtype: dtype, shape: shape, byteCount: byteCount, producer: producer))
    }

    /// Registers a tensor whose bytes are already in memory.
    public mutating func add(name: String, dtype: DType, shape: [Int], contents: [UInt8]) throws(SafetensorsWriteError) {
        if let expected = Checked.byteCount(shape, itemSize: dtype.byteSize), expected != contents.count {
            throw .byteCountMismatch(tensor: name, expected: expected, written: contents.count)
        }
        try add(name: name, dtype: dtype, shape: shape) { write in try contents.withUnsafeBytes { try write($0) } }
    }

    /// Registers `entry` of `source` under its own name; its bytes are fetched only when written.
    public mutating func add(_ entry: TensorEntry, from source: any TensorSource) throws(SafetensorsWriteError) {
        try add(name: entry.name, dtype: entry.dtype, shape: entry.shape) { write in
            let bytes = try source.bytes(of: entry)
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes the file: header, then each tensor's producer in data order. Throws
    /// `SafetensorsWriteError`, or whatever a producer throws; either way `path` is untouched.
    public func finish() throws {
        let ordered = pending.sorted { a, b in
            if a.dtype.byteSize != b.dtype.byteSize { return a.dtype.byteSize > b.dtype.byteSize }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        let header = try headerBytes(ordered)

        let file: AtomicFile
        do { file = try AtomicFile(path: path) } catch { throw SafetensorsWriteError(error) }
        // Any throw below leaves `file` uncommitted; its deinit removes the temporary file.
        do {
            try file.write(header)
            for tensor in ordered {
                var written = 0
                try tensor.producer { chunk in
                    written += chunk.count
                    guard written <= tensor.byteCount else {
                        throw SafetensorsWriteError.byteCountMismatch(tensor: tensor.name, expected: tensor.byteCount, written: written)
                    }
                    try file.write(chunk)
                }
                guard written == tensor.byteCount else {
                    throw SafetensorsWriteError.byteCountMismatch(tensor: tensor.name, expected: tensor.byteCount, written: written)
                }
            }
            try file.commit()
        } catch let error as AtomicFileError {
            file.abandon()
            throw SafetensorsWriteError(error)
        } catch {
            file.abandon()
            throw error
        }
    }

    /// The 8-byte length, the JSON header and its space padding.
    private func headerBytes(_ ordered: [Pending]) throws(SafetensorsWriteError) -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            let sorted = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            members.append((key: "__metadata__", value: .object(sorted.map { (key: $0.key, value: .string($0.value)) })))
        }
        var offset = 0
        for t in ordered {
            guard let end = Checked.add(offset, t.byteCount) else { throw .invalidShape(tensor: t.name, shape: t.shape) }
            members.append(
                (
                    key: t.name,
                    value: [
                        "dtype": .string(t.dtype.rawValue),
                        "shape": .array(t.shape.map { JSONValue($0) }),
                        "data_offsets": [JSONValue(offset), JSONValue(end)],
                    ]
                ))
            offset = end
        }
        var json = Array(JSONValue.object(members).serialized().utf8)
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (64 - (8 + json.count) % 64) % 64))
        guard json.count <= SafetensorsHeader.maxHeaderLength else {
            throw .headerTooLarge(headerLength: json.count, limit: SafetensorsHeader.maxHeaderLength)
        }
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
    }
}

/// Why a safetensors file could not be written.
public enum SafetensorsWriteError: RuleError, Equatable {
    case duplicateTensor(name: String)
    /// `__metadata__` is the header's metadata key and cannot name a tensor.
    case reservedName(name: String)
    /// A negative dimension, or a byte size or data offset that overflows `Int`.
    case invalidShape(tensor: String, shape: [Int])
    /// A producer wrote more or fewer bytes than the shape and dtype call for.
    case byteCountMismatch(tensor: String, expected: Int, written: Int)
    case headerTooLarge(headerLength: Int, limit: Int)
    /// The output path exists as a directory, FIFO or device.
    case notARegularFile(path: String, kind: String)
    case io(path: String, operation: String, errno: Int32)

    public var detail: String {
        switch self {
        case let .duplicateTensor(name): "tensor \(JSONValue.string(name).serialized()) was added twice"
        case let .reservedName(name): "\(JSONValue.string(name).serialized()) is reserved for metadata"
        case let .invalidShape(tensor, shape): "tensor \(JSONValue.string(tensor).serialized()): shape \(shape) is negative or too large"
        case let .byteCountMismatch(tensor, expected, written):
            "tensor \(JSONValue.string(tensor).serialized()): producer wrote \(written) bytes, expected \(expected)"
        case let .headerTooLarge(n, limit): "header of \(n) bytes exceeds the limit of \(limit)"
        case let .notARegularFile(path, kind): "output \(path) is \(kind), not a regular file; name a file to write"
        case let .io(path, operation, e): "\(operation) \(path): \(String(cString: strerror(e)))"
        }
    }

    /// The safetensors writer never passes input paths, so `overwritesInput` cannot happen.
    init(_ error: AtomicFileError) {
        switch error {
        case let .io(path, operation, e): self = .io(path: path, operation: operation, errno: e)
        case let .overwritesInput(path, _): self = .io(path: path, operation: "replace input", errno: EEXIST)
        case let .notARegularFile(path, kind): self = .notARegularFile(path: path, kind: kind)
        }
    }
}
