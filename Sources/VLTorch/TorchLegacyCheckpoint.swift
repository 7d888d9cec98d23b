import VLCore
import VLPickle

/// A checkpoint in the legacy stacked-pickle format (`torch.save(..., _use_new_zipfile_serialization=False)`,
/// torch ≤ 1.5): five pickles back to back — magic number, protocol 1001, sys_info, the object graph,
/// the list of storage keys — then, for each key in that order, an int64 element count and the raw
/// storage bytes.
///
/// Opening runs the pickles and walks the storage headers (one 8-byte read per storage); no tensor
/// data is touched.
public final class TorchLegacyCheckpoint: TensorSource {
    public let path: String
    public let entries: [TensorEntry]
    public let skipped: [SkippedObject]
    public let globals: [String]
    public let file: MappedFile

    /// 0x1950a86a20f9469cfc6c as little-endian bytes (LONG1 payload).
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    static let protocolVersion: Int64 = 1001

    /// True when the bytes begin the way stacked pickles do: a binary pickle (PROTO 2–5, then a
    /// FRAME for protocols 4 and 5) of one integer, its STOP, and more bytes after it. The value is
    /// not compared here: a wrong magic number is then refused as "not a torch legacy file"
    /// instead of being read as a bare pickle of an int. Cost: O(1), at most ~30 bytes read.
    public static func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let stop = integerPickleStop(bytes) else { return false }
        return stop + 1 < bytes.count
    }

    /// Offset of the STOP of a leading `PROTO n [FRAME len] <int> [MEMOIZE | BINPUT i] STOP`, or nil.
    private static func integerPickleStop(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4, bytes[0] == 0x80, (2...5).contains(bytes[1]) else { return nil }
        var at = 2
        if bytes[at] == 0x95 { at += 9 }  // FRAME + 8-byte length
        guard at < bytes.count else { return nil }
        switch bytes[at] {
        case 0x8a:  // LONG1 n
            guard at + 1 < bytes.count else { return nil }
            at += 2 + Int(bytes[at + 1])
        case 0x4a: at += 5  // BININT
        case 0x4b: at += 2  // BININT1
        case 0x4d: at += 3  // BININT2
        default: return nil
        }
        guard at < bytes.count else { return nil }
        if bytes[at] == 0x94 { at += 1 } else if bytes[at] == 0x71 { at += 2 }  // MEMOIZE, BINPUT
        guard at < bytes.count, bytes[at] == 0x2e else { return nil }
        return at
    }

    public convenience init(path: String, limits: PickleLimits = .standard) throws {
        try self.init(file: try MappedFile(path: path), limits: limits)
    }

    public init(file: MappedFile, limits: PickleLimits = .standard) throws {
        self.file = file
        path = file.path
        let bytes = file.bytes
        let machine = PickleMachine(limits: limits)

        let magic = try machine.run(bytes)
        guard case let .bigInt(m) = magic.root, m == Self.magic else {
            throw TorchError.legacyBadMagic(offset: 0, found: Self.describe(magic.root))
        }
        let proto = try machine.run(bytes, startingAt: magic.endOffset)
        guard case let .int(version) = proto.root, version == Self.protocolVersion else {
            if case let .int(v) = proto.root { throw TorchError.legacyUnsupportedProtocol(version: v) }
            throw TorchError.legacyBadMagic(offset: magic.endOffset, found: Self.describe(proto.root))
        }
        let sysInfo = try machine.run(bytes, startingAt: proto.endOffset)
        if Self.lookup(sysInfo, "little_endian") == .bool(false) {
            throw TorchError.legacyBigEndian(offset: proto.endOffset)
        }
        let main = try machine.run(bytes, startingAt: sysInfo.endOffset)
        let keyList = try machine.run(bytes, startingAt: main.endOffset)
        globals = Array(Set(magic.globals + proto.globals + sysInfo.globals + main.globals + keyList.globals)).sorted()

        // Element type and size of every storage the graph references, by root key.
        var declared: [String: (dtype: DType, numel: Int)] = [:]
        for (key, id) in try PersistentStorageID.declarations(in: main) {
            guard let dtype = id.dtype else { throw TorchError.invalidPersistentID(path: key, reason: "untyped storage in a legacy file") }
            declared[key] = (dtype, id.numel)
        }

        // Walk the data section: for each key, int64 count then count × itemsize bytes.
        var offsets: [String: Int] = [:]
        var cursor = keyList.endOffset
        for key in try Self.strings(keyList) {
            guard let (dtype, numel) = declared[key] else { throw TorchError.legacyUnknownStorage(key: key) }
            guard cursor <= bytes.count - 8 else {
                throw TorchError.legacyTruncated(key: key, offset: cursor, needed: 8, fileSize: bytes.count)
            }
            let count = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: cursor, as: Int64.self))
            guard count == Int64(numel) else {
                throw TorchError.storageSizeMismatch(storage: key, expected: numel * dtype.byteSize, found: Int(clamping: count) &* dtype.byteSize)
            }
            let start = cursor + 8
            guard let length = Checked.multiply(numel, dtype.byteSize), let end = Checked.add(start, length), end <= bytes.count else {
                throw TorchError.legacyTruncated(key: key, offset: start, needed: numel &* dtype.byteSize, fileSize: bytes.count)
            }
            offsets[key] = start
            cursor = end
        }
        guard cursor == bytes.count else {
            throw TorchError.trailingBytes(offset: cursor, count: bytes.count - cursor, after: "the last storage's data")
        }

        let path = file.path
        let graph = TorchObjectGraph(result: main) { pid, name in
            let id = try PersistentStorageID(pid, result: main, path: name)
            guard let dtype = id.dtype, let start = offsets[id.key] else { throw TorchError.recordMissing(name: "storage \(id.key)") }
            var byteOffset = start
            var byteCount = id.numel * dtype.byteSize
            if let view = id.view {
                // A storage view: elements [offset, offset+size) of the root storage.
                guard let end = Checked.add(view.offset, view.size), end <= id.numel else {
                    throw TorchError.viewOutOfBounds(tensor: name, offset: view.offset, shape: [view.size], strides: [1], storageElements: id.numel)
                }
                byteOffset += view.offset * dtype.byteSize
                byteCount = view.size * dtype.byteSize
            }
            return ResolvedStorage(
                dtype: dtype,
                location: StorageLocation(
                    file: path, key: id.view?.key ?? id.key,
                    fileOffset: byteOffset, byteCount: byteCount))
        }
        (entries, skipped) = try graph.contents()
    }

    public func bytes(of entry: TensorEntry) throws -> TensorBytes {
        guard let offset = entry.storage.fileOffset, let view = file.range(offset: offset, length: entry.storage.byteCount) else {
            throw TorchError.recordMissing(name: "storage \(entry.storage.key)")
        }
        return TensorBytes(view: view, owner: file).tensor(entry)
    }

    /// A short description of a pickled value, for `legacyBadMagic`.
    private static func describe(_ value: PickleValue) -> String {
        switch value {
        case let .int(n): "the integer \(n)"
        case let .bigInt(digits): "the integer 0x" + digits.reversed().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        default: "no integer"
        }
    }

    private static func lookup(_ result: PickleResult, _ key: String) -> PickleValue? {
        guard case let .ref(r) = result.root, case let .dict(_, entries) = result[r] else { return nil }
        return entries.first { $0.key == .string(key) }?.value
    }

    private static func strings(_ result: PickleResult) throws -> [String] {
        guard case let .ref(r) = result.root, case let .list(items) = result[r] else {
            throw TorchError.malformedTensor(path: "(storage keys)", reason: "storage key list is not a list")
        }
        return try items.map {
            guard case let .string(s) = $0 else { throw TorchError.malformedTensor(path: "(storage keys)", reason: "storage key is not a string") }
            return s
        }
    }
}
