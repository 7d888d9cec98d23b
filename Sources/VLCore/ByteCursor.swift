/// A bounds-checked little-endian reader over bytes it does not own. Reads past the end throw
/// `CursorError.truncated` instead of trapping; unaligned loads are used throughout because file
/// data carries no alignment promise.
public struct ByteCursor {
    public let bytes: UnsafeRawBufferPointer
    public var position: Int

    public init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }

    @inlinable
    mutating func require(_ n: Int) throws(CursorError) {
        guard n >= 0, n <= bytes.count - position else {
            throw CursorError.truncated(offset: position, needed: n, available: max(0, bytes.count - position))
        }
    }

    @inlinable
    public mutating func readInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws(CursorError) -> T {
        try require(MemoryLayout<T>.size)
        let v = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    @inlinable
    public mutating func readBigEndianInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws(CursorError) -> T {
        try require(MemoryLayout<T>.size)
        let v = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(bigEndian: v)
    }

    /// A view of the next `count` bytes (no copy).
    @inlinable
    public mutating func readBytes(_ count: Int) throws(CursorError) -> UnsafeRawBufferPointer {
        try require(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    public mutating func skip(_ count: Int) throws(CursorError) {
        try require(count)
        position += count
    }
}

public enum CursorError: RuleError {
    case truncated(offset: Int, needed: Int, available: Int)

    public var detail: String {
        switch self {
        case let .truncated(offset, needed, available):
            "input ends at offset \(offset): needed \(needed) bytes, \(available) left"
        }
    }
}
