import CZip
import VLCore

/// Tensor alignment of a `.vlpack` file: every tensor's first byte is at a file offset that is a
/// multiple of this. 64 is a cache line and the widest SIMD register; 4096 lets a tensor be mapped
/// or `madvise`d by itself on 4 KiB-page systems, at the cost of up to 4 KiB of padding per tensor.
public enum VLPackAlignment: Int, Sendable, CaseIterable {
    case cacheLine = 64
    case page = 4096
}

/// CRC-32 with zlib's (IEEE 802.3, reflected, 0xEDB88320) polynomial — what Python's `zlib.crc32`
/// computes. Streaming: `update` any number of times.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var left = bytes.count
        // zlib takes a 32-bit length; feed at most 1 GiB at a time.
        while left > 0 {
            let n = min(left, 1 << 30)
            value = UInt32(truncatingIfNeeded: crc32(UInt(value), p, UInt32(n)))
            p += n
            left -= n
        }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }
}

/// The smallest multiple of `alignment` that is ≥ `value`; `nil` on overflow.
func alignUp(_ value: Int, _ alignment: Int) -> Int? {
    Checked.add(value, alignment - 1).map { $0 / alignment * alignment }
}

/// The fixed 64-byte preamble at file offset 0 (Formats/VLPACK.md §2). All integers little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `VLPACK\0\0` |
/// | 8 | 4 | format version (1) |
/// | 12 | 4 | flags (0) |
/// | 16 | 8 | header length H (JSON bytes, without padding) |
/// | 24 | 4 | CRC-32 of the H JSON bytes |
/// | 28 | 4 | alignment (64 or 4096) |
/// | 32 | 8 | data offset D = align_up(64 + H, alignment) |
/// | 40 | 8 | data length L; file size = D + L |
/// | 48 | 12 | reserved, zero |
/// | 60 | 4 | CRC-32 of bytes 0..<60 |
public struct VLPackPreamble: Sendable, Equatable {
    public static let size = 64
    public static let magic: [UInt8] = Array("VLPACK".utf8) + [0, 0]
    public static let version: UInt32 = 1
    /// Headers beyond this are refused before anything is parsed (a table of 1M tensors fits).
    public static let maxHeaderLength = 256 << 20

    public let headerLength: Int
    public let headerCRC32: UInt32
    public let alignment: Int
    public let dataOffset: Int
    public let dataLength: Int

    /// The data offset a header of `headerLength` bytes gives: `align_up(64 + headerLength, alignment)`.
    public static func dataOffset(headerLength: Int, alignment: Int) -> Int? {
        Checked.add(size, headerLength).flatMap { alignUp($0, alignment) }
    }

    init(headerLength: Int, headerCRC32: UInt32, alignment: Int, dataOffset: Int, dataLength: Int) {
        self.headerLength = headerLength
        self.headerCRC32 = headerCRC32
        self.alignment = alignment
        self.dataOffset = dataOffset
        self.dataLength = dataLength
    }

    /// The 64 bytes, preamble CRC included.
    func encoded() -> [UInt8] {
        var out = Self.magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(Self.version)
        put(UInt32(0))
        put(UInt64(headerLength))
        put(headerCRC32)
        put(UInt32(alignment))
        put(UInt64(dataOffset))
        put(UInt64(dataLength))
        out.append(contentsOf: repeatElement(0, count: 12))
        put(out.withUnsafeBytes { CRC32.checksum($0) })
        return out
    }

    /// Validates the preamble of a file of `fileSize` bytes whose first bytes are `bytes`. Checks, in
    /// this order: length ≥ 64, magic, version, preamble CRC, flags, reserved bytes, alignment, header
    /// length limit, data offset, and that the file is exactly `dataOffset + dataLength` long. O(1).
    static func decode(_ bytes: UnsafeRawBufferPointer, fileSize: Int) throws(VLPackError) -> VLPackPreamble {
        guard bytes.count >= size, fileSize >= size else { throw .truncated(expected: size, actual: fileSize) }
        guard bytes.prefix(8).elementsEqual(magic) else {
            throw .badMagic(found: JSONValue.string(String(decoding: bytes.prefix(8), as: UTF8.self)).serialized())
        }
        var c = ByteCursor(UnsafeRawBufferPointer(rebasing: bytes[0..<size]), position: 8)
        // The cursor is over exactly 64 bytes, so none of these reads can fail.
        func u32() -> UInt32 { (try? c.readInteger(UInt32.self)) ?? 0 }
        func u64() -> UInt64 { (try? c.readInteger(UInt64.self)) ?? 0 }
        let version = u32()
        // Version before CRC: a later version may change what the CRC covers, and "unsupported
        // version" is the useful message for it.
        guard version == Self.version else { throw .unsupportedVersion(version: version) }
        let flags = u32()
        let headerLength = u64()
        let headerCRC = u32()
        let alignment = u32()
        let dataOffset = u64()
        let dataLength = u64()
        let stored = bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self).littleEndian
        let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
        guard stored == computed else { throw .preambleChecksumMismatch(stored: stored, computed: computed) }
        guard flags == 0 else { throw .unsupportedFlags(flags: flags) }
        if let i = (48..<60).first(where: { bytes[$0] != 0 }) { throw .nonZeroReserved(offset: i) }
        guard let align = VLPackAlignment(rawValue: Int(alignment))?.rawValue else { throw .badAlignment(alignment: alignment) }
        guard headerLength <= UInt64(maxHeaderLength) else { throw .headerTooLarge(length: headerLength, limit: maxHeaderLength) }
        let h = Int(headerLength)
        let expectedData = Self.dataOffset(headerLength: h, alignment: align)!
        guard dataOffset == UInt64(expectedData) else { throw .dataOffsetMismatch(found: dataOffset, expected: expectedData) }
        guard let length = Checked.int(dataLength), let end = Checked.add(expectedData, length) else {
            throw .truncated(expected: Int.max, actual: fileSize)
        }
        guard fileSize >= end else { throw .truncated(expected: end, actual: fileSize) }
        guard fileSize == end else { throw .trailingBytes(expected: end, actual: fileSize) }
        return VLPackPreamble(headerLength: h, headerCRC32: headerCRC, alignment: align, dataOffset: expectedData, dataLength: length)
    }
}
