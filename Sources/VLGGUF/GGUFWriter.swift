import VLCore
import VLPackFormat

/// ggml tensor types VLPack writes to GGUF, with ggml's numbers.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, q4_k = 12, q6_k = 14, bf16 = 30

    /// The GGUF type of a `.vlpack` storage type; `nil` for storage GGUF cannot hold as is.
    public init?(_ storage: StorageType) {
        switch storage {
        case .plain(.f32): self = .f32
        case .plain(.f16): self = .f16
        case .plain(.bf16): self = .bf16
        case let .blocks(b):
            switch b {
            case .q8_0: self = .q8_0
            case .q4_0: self = .q4_0
            case .q4_1: self = .q4_1
            case .q4_k: self = .q4_k
            case .q6_k: self = .q6_k
            }
        default: return nil
        }
    }

    /// The storage type with the same bytes.
    public var storage: StorageType {
        switch self {
        case .f32: .plain(.f32)
        case .f16: .plain(.f16)
        case .bf16: .plain(.bf16)
        case .q4_0: .blocks(.q4_0)
        case .q4_1: .blocks(.q4_1)
        case .q8_0: .blocks(.q8_0)
        case .q4_k: .blocks(.q4_k)
        case .q6_k: .blocks(.q6_k)
        }
    }
}

/// A GGUF metadata value (the subset of GGUF's value types VLPack writes).
public enum GGUFValue: Sendable, Equatable {
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case strings([String])
    case float32s([Float])
    case int32s([Int32])

    /// GGUF value type codes.
    var typeCode: UInt32 {
        switch self {
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .strings, .float32s, .int32s: 9
        }
    }
}

/// One tensor of a GGUF file: `dims` in ggml order (fastest-varying first, the reverse of the
/// row-major shape).
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let dims: [Int]
    public let type: GGMLType

    public init(name: String, dims: [Int], type: GGMLType) {
        self.name = name
        self.dims = dims
        self.type = type
    }

    /// Bytes of the tensor's data; `nil` when the first dimension does not divide into blocks.
    public var byteCount: Int? { type.storage.byteCount(shape: Array(dims.reversed())) }
}

/// Writes a GGUF version 3 file: header, metadata and tensor table up front (every offset is
/// known from the plan), then each tensor's bytes streamed in plan order, each at a multiple of
/// `alignment` from the data start (zero padding).
///
/// Atomic like `VLPackWriter` (`AtomicFile`): an unnamed temporary file, fsynced, linked and renamed
/// by `finish`; discarded on any error or when dropped unfinished. Memory: the header. Not thread-safe.
public final class GGUFWriter {
    public static let alignment = 32
    public let path: String
    public let tensors: [GGUFTensorInfo]
    private let offsets: [Int]
    private let dataStart: Int
    private var next = 0
    private var file: AtomicFile?

    public init(path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorInfo], inputs: [String] = []) throws {
        self.path = path
        self.tensors = tensors
        var header = ByteSink()
        header.u32(0x4655_4747)  // "GGUF"
        header.u32(3)
        header.u64(UInt64(tensors.count))
        header.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            header.string(key)
            header.u32(value.typeCode)
            header.value(value)
        }
        var offsets: [Int] = []
        var end = 0
        for t in tensors {
            guard let n = t.byteCount else { throw GGUFError.invalidShape(tensor: t.name, dims: t.dims, type: "\(t.type)") }
            let offset = (end + Self.alignment - 1) / Self.alignment * Self.alignment
            offsets.append(offset)
            end = offset + n
            header.string(t.name)
            header.u32(UInt32(t.dims.count))
            for d in t.dims { header.u64(UInt64(d)) }
            header.u32(t.type.rawValue)
            header.u64(UInt64(offset))
        }
        self.offsets = offsets
        dataStart = (header.bytes.count + Self.alignment - 1) / Self.alignment * Self.alignment
        let file = try AtomicFile(path: path, refusingToReplace: inputs)
        do {
            try file.write(header.bytes)
            try file.writeZeros(dataStart - header.bytes.count)
        } catch {
            file.abandon()
            throw error
        }
        self.file = file
    }

    /// Writes the next tensor, which must be `name`; `producer` passes its bytes in chunks.
    public func write(tensor name: String, _ producer: VLPackWriter.Producer) throws {
        guard let file else { throw GGUFError.closed(path: path) }
        do {
            guard next < tensors.count, tensors[next].name == name else {
                throw GGUFError.outOfOrder(expected: next < tensors.count ? tensors[next].name : nil, got: name)
            }
            let expected = tensors[next].byteCount!
            try file.writeZeros(dataStart + offsets[next] - file.offset)
            var written = 0
            try producer { chunk in
                written += chunk.count
                guard written <= expected else { throw GGUFError.byteCountMismatch(tensor: name, expected: expected, written: written) }
                try file.write(chunk)
            }
            guard written == expected else { throw GGUFError.byteCountMismatch(tensor: name, expected: expected, written: written) }
            next += 1
        } catch {
            cancel()
            throw error
        }
    }

    /// Pads the end to the alignment, fsyncs and renames into place.
    public func finish() throws {
        guard let file else { throw GGUFError.closed(path: path) }
        do {
            if next < tensors.count { throw GGUFError.incomplete(missing: tensors[next].name) }
            try file.writeZeros((file.offset + Self.alignment - 1) / Self.alignment * Self.alignment - file.offset)
            try file.commit()
            self.file = nil
        } catch {
            cancel()
            throw error
        }
    }

    public func cancel() {
        file?.abandon()
        file = nil
    }

    deinit { cancel() }
}

/// Little-endian GGUF encoding into a byte array.
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u64(UInt64(utf8.count))
        bytes += utf8
    }

    mutating func value(_ v: GGUFValue) {
        switch v {
        case let .uint32(x): u32(x)
        case let .int32(x): u32(UInt32(bitPattern: x))
        case let .float32(x): u32(x.bitPattern)
        case let .bool(x): bytes.append(x ? 1 : 0)
        case let .string(s): string(s)
        case let .strings(a):
            u32(8)
            u64(UInt64(a.count))
            for s in a { string(s) }
        case let .float32s(a):
            u32(6)
            u64(UInt64(a.count))
            for x in a { u32(x.bitPattern) }
        case let .int32s(a):
            u32(5)
            u64(UInt64(a.count))
            for x in a { u32(UInt32(bitPattern: x)) }
        }
    }
}
