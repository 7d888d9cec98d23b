import VLCore

/// One file in a zip archive, as the central directory describes it.
public struct ZipEntry: Sendable, Hashable {
    public let name: String
    /// 0 = stored, 8 = deflate.
    public let method: Int
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// CRC-32 from the central directory; 0 means "not computed" (torch can skip it).
    public let crc32: UInt32
    public let localHeaderOffset: Int
    /// Offset of the first payload byte (after the local header, its name and its extra field).
    public let dataOffset: Int

    public var isStored: Bool { method == 0 }
}

/// The central directory of a zip file, validated once: the end record (ZIP64 when present), every
/// central entry, and every local header it points to. The central directory is the source of truth
/// for sizes; local headers are only used to find where each payload starts.
///
/// Cost: O(number of entries); reads no payload bytes.
public struct ZipDirectory: Sendable {
    /// Entries in central-directory order.
    public let entries: [ZipEntry]
    private let index: [String: Int]

    /// Upper bound on entries, far above any checkpoint (a 70B model has ~1k records).
    public static let maxEntries = 1_000_000

    public subscript(name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    public init(_ bytes: UnsafeRawBufferPointer) throws(TorchError) {
        let end = try Self.findEndRecord(bytes)
        var count = Int(bytes.loadUnaligned(fromByteOffset: end + 10, as: UInt16.self).littleEndian)
        var directorySize = Int(bytes.loadUnaligned(fromByteOffset: end + 12, as: UInt32.self).littleEndian)
        var directoryOffset = Int(bytes.loadUnaligned(fromByteOffset: end + 16, as: UInt32.self).littleEndian)

        // ZIP64: a locator sits right before the classic end record (torch always writes one).
        if end >= 20, bytes.loadUnaligned(fromByteOffset: end - 20, as: UInt32.self).littleEndian == 0x0706_4b50 {
            let recordOffset64 = bytes.loadUnaligned(fromByteOffset: end - 12, as: UInt64.self).littleEndian
            guard let recordOffset = Checked.int(recordOffset64), recordOffset <= bytes.count - 56,
                bytes.loadUnaligned(fromByteOffset: recordOffset, as: UInt32.self).littleEndian == 0x0606_4b50
            else { throw .zipRecordTruncated(offset: end - 20, record: "ZIP64 end-of-central-directory record") }
            let c = bytes.loadUnaligned(fromByteOffset: recordOffset + 32, as: UInt64.self).littleEndian
            let s = bytes.loadUnaligned(fromByteOffset: recordOffset + 40, as: UInt64.self).littleEndian
            let o = bytes.loadUnaligned(fromByteOffset: recordOffset + 48, as: UInt64.self).littleEndian
            guard let c = Checked.int(c), let s = Checked.int(s), let o = Checked.int(o) else {
                throw .zipRecordTruncated(offset: recordOffset, record: "ZIP64 end-of-central-directory record")
            }
            (count, directorySize, directoryOffset) = (c, s, o)
        }
        guard count <= Self.maxEntries else { throw .tooManyEntries(count: count, limit: Self.maxEntries) }
        guard let directoryEnd = Checked.add(directoryOffset, directorySize), directoryEnd <= bytes.count else {
            throw .entryOutOfBounds(
                name: "(central directory)", offset: directoryOffset,
                end: directoryOffset &+ directorySize, fileSize: bytes.count)
        }

        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var index: [String: Int] = [:]
        var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: bytes[0..<directoryEnd]), position: directoryOffset)
        for _ in 0..<count {
            let entry = try Self.readCentralEntry(&cursor, file: bytes)
            guard index[entry.name] == nil else { throw .duplicateEntry(name: entry.name) }
            index[entry.name] = entries.count
            entries.append(entry)
        }
        self.entries = entries
        self.index = index
    }

    private static func findEndRecord(_ bytes: UnsafeRawBufferPointer) throws(TorchError) -> Int {
        let minimum = 22
        guard bytes.count >= minimum else { throw .zipEndRecordMissing(fileSize: bytes.count) }
        let last = bytes.count - minimum
        let first = max(0, last - 65_535)
        var p = last
        while p >= first {
            if bytes.loadUnaligned(fromByteOffset: p, as: UInt32.self).littleEndian == 0x0605_4b50 {
                // The comment length must reach exactly to the end of the file.
                let commentLength = Int(bytes.loadUnaligned(fromByteOffset: p + 20, as: UInt16.self).littleEndian)
                if p + minimum + commentLength == bytes.count { return p }
            }
            p -= 1
        }
        throw .zipEndRecordMissing(fileSize: bytes.count)
    }

    private static func readCentralEntry(_ c: inout ByteCursor, file: UnsafeRawBufferPointer) throws(TorchError) -> ZipEntry {
        let start = c.position
        do {
            guard try c.readInteger(UInt32.self) == 0x0201_4b50 else {
                throw TorchError.zipRecordTruncated(offset: start, record: "central directory entry (bad signature)")
            }
            try c.skip(4)  // version made by, version needed
            let flags = try c.readInteger(UInt16.self)
            let method = Int(try c.readInteger(UInt16.self))
            try c.skip(4)  // time, date
            let crc = try c.readInteger(UInt32.self)
            var compressed = UInt64(try c.readInteger(UInt32.self))
            var uncompressed = UInt64(try c.readInteger(UInt32.self))
            let nameLength = Int(try c.readInteger(UInt16.self))
            let extraLength = Int(try c.readInteger(UInt16.self))
            let commentLength = Int(try c.readInteger(UInt16.self))
            try c.skip(8)  // disk, internal attrs, external attrs
            var localOffset = UInt64(try c.readInteger(UInt32.self))
            let nameBytes = try c.readBytes(nameLength)
            var extra = ByteCursor(try c.readBytes(extraLength))
            try c.skip(commentLength)

            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw TorchError.invalidEntryName(offset: start) }
            // ZIP64 extended information: only the fields saturated in the fixed part are present, in order.
            while extra.remaining >= 4 {
                let tag = try extra.readInteger(UInt16.self)
                let size = Int(try extra.readInteger(UInt16.self))
                var field = ByteCursor(try extra.readBytes(size))
                guard tag == 0x0001 else { continue }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try field.readInteger(UInt64.self) }
                if compressed == 0xFFFF_FFFF { compressed = try field.readInteger(UInt64.self) }
                if localOffset == 0xFFFF_FFFF { localOffset = try field.readInteger(UInt64.self) }
            }
            guard flags & 1 == 0 else { throw TorchError.unsupportedCompression(name: name, method: -1) }
            guard method == 0 || method == 8 else { throw TorchError.unsupportedCompression(name: name, method: method) }
            guard let compressedSize = Checked.int(compressed), let uncompressedSize = Checked.int(uncompressed),
                let headerOffset = Checked.int(localOffset)
            else { throw TorchError.entryOutOfBounds(name: name, offset: Int.max, end: Int.max, fileSize: file.count) }
            if method == 0 && compressedSize != uncompressedSize {
                throw TorchError.storageSizeMismatch(storage: name, expected: uncompressedSize, found: compressedSize)
            }
            let dataOffset = try localDataOffset(name: name, nameBytes: nameBytes, headerOffset: headerOffset, file: file)
            guard let dataEnd = Checked.add(dataOffset, compressedSize), dataEnd <= file.count else {
                throw TorchError.entryOutOfBounds(name: name, offset: dataOffset, end: dataOffset &+ compressedSize, fileSize: file.count)
            }
            return ZipEntry(
                name: name, method: method, compressedSize: compressedSize, uncompressedSize: uncompressedSize,
                crc32: crc, localHeaderOffset: headerOffset, dataOffset: dataOffset)
        } catch let e as TorchError {
            throw e
        } catch {
            throw .zipRecordTruncated(offset: start, record: "central directory entry")
        }
    }

    /// Reads the local header at `headerOffset`, checks that it names the same file, and returns
    /// where the payload starts.
    private static func localDataOffset(
        name: String, nameBytes: UnsafeRawBufferPointer, headerOffset: Int,
        file: UnsafeRawBufferPointer
    ) throws(TorchError) -> Int {
        guard headerOffset <= file.count - 30 else {
            throw .entryOutOfBounds(name: name, offset: headerOffset, end: headerOffset &+ 30, fileSize: file.count)
        }
        guard file.loadUnaligned(fromByteOffset: headerOffset, as: UInt32.self).littleEndian == 0x0403_4b50 else {
            throw .localHeaderMismatch(name: name, offset: headerOffset)
        }
        let localNameLength = Int(file.loadUnaligned(fromByteOffset: headerOffset + 26, as: UInt16.self).littleEndian)
        let localExtraLength = Int(file.loadUnaligned(fromByteOffset: headerOffset + 28, as: UInt16.self).littleEndian)
        let nameStart = headerOffset + 30
        let dataOffset = nameStart + localNameLength + localExtraLength
        guard dataOffset <= file.count else {
            throw .entryOutOfBounds(name: name, offset: headerOffset, end: dataOffset, fileSize: file.count)
        }
        guard localNameLength == nameBytes.count,
            UnsafeRawBufferPointer(rebasing: file[nameStart..<(nameStart + localNameLength)]).elementsEqual(nameBytes)
        else { throw .localHeaderMismatch(name: name, offset: headerOffset) }
        return dataOffset
    }
}
