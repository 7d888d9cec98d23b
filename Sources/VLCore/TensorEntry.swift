/// Where the bytes behind a tensor live inside its source file.
public struct StorageLocation: Sendable, Hashable {
    /// The file holding the storage.
    public let file: String
    /// Identifier of the storage inside that file (zip record name, legacy key, or tensor name).
    public let key: String
    /// Byte offset of the storage's first byte in the file, when it is stored uncompressed.
    public let fileOffset: Int?
    /// Size of the whole storage in bytes.
    public let byteCount: Int
    /// True when the storage bytes are big-endian and must be swapped on read.
    public let bigEndian: Bool

    public init(file: String, key: String, fileOffset: Int?, byteCount: Int, bigEndian: Bool = false) {
        self.file = file
        self.key = key
        self.fileOffset = fileOffset
        self.byteCount = byteCount
        self.bigEndian = bigEndian
    }
}

/// Metadata of one tensor in a checkpoint. Listing entries never touches tensor data.
///
/// Invariant (checked by every reader before it builds an entry): the view described by
/// `storageOffset`, `shape` and `strides` lies inside the storage.
public struct TensorEntry: Sendable, Hashable {
    /// Dotted name: nested dict keys joined by `.` (`model.llama_proj.weight`).
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Strides in elements.
    public let strides: [Int]
    /// Offset of element [0,...,0] in the storage, in elements.
    public let storageOffset: Int
    public let storage: StorageLocation

    public init(name: String, dtype: DType, shape: [Int], strides: [Int], storageOffset: Int, storage: StorageLocation) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.storage = storage
    }

    /// Number of elements (validated not to overflow when the entry was built).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of the tensor itself when made contiguous.
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= max(shape[i], 1)
        }
        return strides
    }

    /// True when the elements are stored densely in row-major order (size-1 dims ignore strides).
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if shape[i] == 0 { return true }
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Checks that the view lies within a storage of `storageElements` elements; returns the number
    /// of elements the view spans (0 for empty tensors). `nil` when it does not fit or overflows.
    public static func viewSpan(shape: [Int], strides: [Int], offset: Int, storageElements: Int) -> Int? {
        guard shape.count == strides.count, offset >= 0 else { return nil }
        guard let n = Checked.elementCount(shape) else { return nil }
        if n == 0 { return offset <= storageElements ? 0 : nil }
        var last = offset
        for (d, s) in zip(shape, strides) {
            guard s >= 0, let step = Checked.multiply(d - 1, s), let l = Checked.add(last, step) else { return nil }
            last = l
        }
        guard last < storageElements else { return nil }
        return last - offset + 1
    }
}

/// A non-tensor object met while walking a checkpoint, reported instead of loaded.
public struct SkippedObject: Sendable, Hashable, Codable {
    /// Dotted key path of the object.
    public let path: String
    /// Python type name: `int`, `dict`, or `module.Class` for opaque objects.
    public let type: String

    public init(path: String, type: String) {
        self.path = path
        self.type = type
    }
}
