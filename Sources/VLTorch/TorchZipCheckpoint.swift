import VLCore
import VLPickle

/// A checkpoint written by `torch.save` in the zip format (torch ≥ 1.6, the released Video-LLaMA
/// files): `<prefix>/data.pkl` holds the object graph, `<prefix>/data/<key>` the raw storages.
///
/// Opening reads the central directory and runs `data.pkl` through the closed pickle machine;
/// no storage bytes are touched. Cost: O(entries + pickle size).
public final class TorchZipCheckpoint: TensorSource {
    public let path: String
    public let entries: [TensorEntry]
    public let skipped: [SkippedObject]
    public let globals: [String]
    /// The archive folder every record lives under (`archive`, or the saved file's stem).
    public let prefix: String
    public let archive: ZipArchive

    public convenience init(path: String, limits: PickleLimits = .standard) throws {
        try self.init(file: try MappedFile(path: path), limits: limits)
    }

    public init(file: MappedFile, limits: PickleLimits = .standard) throws {
        path = file.path
        archive = try ZipArchive(file: file)
        let directory = archive.directory
        guard let first = directory.entries.first, let slash = first.name.firstIndex(of: "/") else {
            throw TorchError.recordMissing(name: "data.pkl")
        }
        let prefix = String(first.name[..<slash])
        self.prefix = prefix
        for entry in directory.entries where !entry.name.hasPrefix(prefix + "/") {
            throw TorchError.entryOutsidePrefix(name: entry.name, prefix: prefix)
        }
        if directory["\(prefix)/constants.pkl"] != nil || directory.entries.contains(where: { $0.name.hasPrefix("\(prefix)/code/") }) {
            throw TorchError.torchScriptArchive(prefix: prefix)
        }
        guard let pickleEntry = directory["\(prefix)/data.pkl"] else { throw TorchError.recordMissing(name: "\(prefix)/data.pkl") }

        var bigEndian = false
        if let orderEntry = directory["\(prefix)/byteorder"] {
            let raw = try archive.payload(of: orderEntry).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            switch raw.trimmingWhitespace() {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw TorchError.invalidByteOrder(value: String(raw.prefix(32)))
            }
        }

        let pickleBytes = try archive.payload(of: pickleEntry)
        // Pickle offsets are relative to data.pkl; say where that record sits in the file.
        let recordLocation = "\(file.path) (record '\(pickleEntry.name)' at file offset \(pickleEntry.dataOffset))"
        let result = try attributing(to: recordLocation) {
            try pickleBytes.withUnsafeBytes { bytes in
                let result = try PickleMachine(limits: limits).run(bytes)
                guard result.endOffset == bytes.count else {
                    throw TorchError.trailingBytes(
                        offset: result.endOffset, count: bytes.count - result.endOffset,
                        after: "the STOP that ends data.pkl")
                }
                return result
            }
        }
        globals = result.globals
        _ = try PersistentStorageID.declarations(in: result)

        let archive = self.archive
        let graph = TorchObjectGraph(result: result) { pid, name in
            try Self.resolveStorage(pid, name: name, result: result, archive: archive, prefix: prefix, bigEndian: bigEndian)
        }
        (entries, skipped) = try graph.contents()
    }

    /// `('storage', <XStorage class>, key, location, numel)` → the `data/<key>` record, whose size
    /// must equal numel × itemsize (numel counts bytes for `UntypedStorage`).
    private static func resolveStorage(
        _ pid: PickleValue, name: String, result: PickleResult, archive: ZipArchive,
        prefix: String, bigEndian: Bool
    ) throws -> ResolvedStorage {
        let id = try PersistentStorageID(pid, result: result, path: name)
        let recordName = "\(prefix)/data/\(id.key)"
        guard let record = archive.directory[recordName] else { throw TorchError.recordMissing(name: recordName) }
        let itemSize = id.dtype?.byteSize ?? 1
        guard let expected = Checked.multiply(id.numel, itemSize) else {
            throw TorchError.invalidPersistentID(path: name, reason: "storage size \(id.numel) × \(itemSize) overflows")
        }
        guard record.uncompressedSize == expected else {
            throw TorchError.storageSizeMismatch(storage: recordName, expected: expected, found: record.uncompressedSize)
        }
        let location = StorageLocation(
            file: archive.file.path, key: recordName,
            fileOffset: record.isStored ? record.dataOffset : nil,
            byteCount: expected, bigEndian: bigEndian)
        return ResolvedStorage(dtype: id.dtype, location: location)
    }

    public func bytes(of entry: TensorEntry) throws -> TensorBytes {
        guard let record = archive.directory[entry.storage.key] else { throw TorchError.recordMissing(name: entry.storage.key) }
        return try archive.payload(of: record).tensor(entry)
    }

    /// Checks the CRC-32 of every storage record and of `data.pkl`.
    public func verifyChecksums() throws {
        for entry in archive.directory.entries { try archive.verifyCRC(of: entry) }
    }
}

/// The fields of a torch persistent storage id, validated.
struct PersistentStorageID {
    let dtype: DType?  // nil = UntypedStorage (bytes)
    let key: String
    let numel: Int
    /// Legacy only: (view key, offset, size) when the tensor views part of a root storage.
    let view: (key: String, offset: Int, size: Int)?

    /// `torch.FloatStorage`, `torch.cuda.FloatStorage` (legacy files saved from GPU) and
    /// `torch.storage.UntypedStorage` (current torch, new dtypes).
    static let storageModules: Set<String> = ["torch", "torch.cuda", "torch.storage"]

    /// Every storage the object graph declares, by key. Refuses a key declared twice with a different
    /// element type or element count: torch's saver never writes that, and reading the bytes through
    /// whichever declaration comes first would silently reinterpret them.
    static func declarations(in result: PickleResult) throws -> [String: PersistentStorageID] {
        var byKey: [String: PersistentStorageID] = [:]
        for object in result.heap {
            guard case let .persistent(pid) = object else { continue }
            let id = try PersistentStorageID(pid, result: result, path: "(storage)")
            if let first = byKey[id.key] {
                guard first.dtype == id.dtype, first.numel == id.numel else {
                    throw TorchError.storageKeyConflict(key: id.key, first: first.declaration, second: id.declaration)
                }
            } else {
                byKey[id.key] = id
            }
        }
        return byKey
    }

    /// How the id declares its storage, for errors: element type and count.
    var declaration: String { "\(dtype?.rawValue ?? "untyped bytes") × \(numel)" }

    init(_ pid: PickleValue, result: PickleResult, path: String) throws {
        guard case let .ref(r) = pid, case let .tuple(items) = result[r], items.count == 5 || items.count == 6,
            case .string("storage") = items[0]
        else { throw TorchError.invalidPersistentID(path: path, reason: "expected ('storage', type, key, location, numel)") }
        guard case let .ref(t) = items[1], case let .global(cls) = result[t], Self.storageModules.contains(cls.module) else {
            throw TorchError.invalidPersistentID(path: path, reason: "storage type is not a torch storage class")
        }
        if cls.name == "UntypedStorage" {
            dtype = nil
        } else if let d = TorchDTypes.byStorageClass[cls.name] {
            dtype = d
        } else {
            throw TorchError.invalidPersistentID(path: path, reason: "unsupported storage type torch.\(cls.name)")
        }
        guard case let .string(key) = items[2], !key.isEmpty, !key.contains("/"), !key.contains("..") else {
            throw TorchError.invalidPersistentID(path: path, reason: "storage key is not a plain name")
        }
        guard case let .int(n) = items[4], let numel = Int(exactly: n), numel >= 0 else {
            throw TorchError.invalidPersistentID(path: path, reason: "storage size is not a non-negative integer")
        }
        self.key = key
        self.numel = numel
        if items.count == 6, case let .ref(v) = items[5] {
            guard case let .tuple(view) = result[v], view.count == 3, case let .string(viewKey) = view[0],
                case let .int(o) = view[1], case let .int(s) = view[2],
                let offset = Int(exactly: o), let size = Int(exactly: s), offset >= 0, size >= 0
            else { throw TorchError.invalidPersistentID(path: path, reason: "malformed storage view metadata") }
            self.view = (viewKey, offset, size)
        } else {
            self.view = nil
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
