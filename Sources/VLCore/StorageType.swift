/// How a tensor's elements are stored: one plain `DType` per element, or blocks of a `BlockFormat`.
/// The tensor's `shape` is always its logical element shape, whichever the storage.
public enum StorageType: Sendable, Hashable {
    case plain(DType)
    case blocks(BlockFormat)

    /// Every spelling a version-1 tensor table may use: the `DType` raw values, then the block formats.
    public static let allCases: [StorageType] = DType.allCases.map { .plain($0) } + BlockFormat.allCases.map { .blocks($0) }

    /// Parses a table spelling (`F32`, `Q4_K`, ...); `nil` for anything unknown. Case-sensitive.
    public init?(name: String) {
        if let d = DType(rawValue: name) {
            self = .plain(d)
        } else if let b = BlockFormat(rawValue: name) {
            self = .blocks(b)
        } else {
            return nil
        }
    }

    /// The table spelling.
    public var name: String {
        switch self {
        case let .plain(d): d.rawValue
        case let .blocks(b): b.rawValue
        }
    }

    /// 1 for plain dtypes.
    public var elementsPerBlock: Int {
        switch self {
        case .plain: 1
        case let .blocks(b): b.elementsPerBlock
        }
    }

    /// The element size for plain dtypes.
    public var bytesPerBlock: Int {
        switch self {
        case let .plain(d): d.byteSize
        case let .blocks(b): b.bytesPerBlock
        }
    }

    /// Bytes needed to store a tensor of logical `shape`; `nil` when a dimension is negative, a
    /// product overflows `Int`, or (block formats) the shape is 0-d or its last dimension — the row
    /// length — is not a multiple of `elementsPerBlock` (blocks never straddle rows). O(rank).
    public func byteCount(shape: [Int]) -> Int? {
        guard let elements = Checked.elementCount(shape) else { return nil }
        switch self {
        case let .plain(d):
            return Checked.multiply(elements, d.byteSize)
        case let .blocks(b):
            guard let row = shape.last, row % b.elementsPerBlock == 0 else { return nil }
            return Checked.multiply(elements / b.elementsPerBlock, b.bytesPerBlock)
        }
    }
}
