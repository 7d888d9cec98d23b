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

    /// True when the bytes begin with the legacy magic-number pickle.
    public static func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // PROTO 2, LONG1 10, <magic>
        guard bytes.count >= 14, bytes[0] == 0x80, bytes[2] == 0x8a, bytes[3] == 10 else { return false }
        return UnsafeRawBufferPointer(rebasing: bytes[4..<14]).elementsEqual(magic)
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
        guard case let .bigInt(m) = magic.root, m == Self.magic else { throw TorchError.legacyBadMagic(offset: 0) }
        let proto = try machine.run(bytes, startingAt: magic.endOffset)
        guard case let .int(version) = proto.root, version == Self.protocolVersion else {
            if case let .int(v) = proto.root { throw TorchError.legacyUnsupportedProtocol(version: v) }
            throw TorchError.legacyBadMagic(offset: magic.endOffset)
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
        for object in main.heap {
            guard case let .persistent(pid) = object else { continue }
            let id = try PersistentStorageID(pid, result: main, path: "(storage)")
            guard let dtype = id.dtype else { throw TorchError.invalidPersistentID(path: id.key, reason: "untyped storage in a legacy file") }
            declared[id.key] = (dtype, id.numel)
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
            return ResolvedStorage(dtype: dtype, location: StorageLocation(file: path, key: id.view?.key ?? id.key,
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
