import VLCore
import VLPickle

/// A bare pickle stream (`pickle.dump` output, not `torch.save`). It has nowhere to keep storages,
/// so it can only hold non-tensor objects; it is read so that such files — and pickle bombs saved
/// as `.pkl` — get the same closed interpreter and a clear answer.
public final class RawPickleFile: TensorSource {
    public let path: String
    public let entries: [TensorEntry]
    public let skipped: [SkippedObject]
    public let globals: [String]

    public convenience init(file: MappedFile, limits: PickleLimits = .standard) throws {
        try self.init(bytes: file.bytes, path: file.path, limits: limits)
    }

    /// Runs the machine and the object-graph walk over bytes in memory (also the fuzzing entry).
    public init(bytes: UnsafeRawBufferPointer, path: String, limits: PickleLimits = .standard) throws {
        self.path = path
        let result = try PickleMachine(limits: limits).run(bytes)
        // More bytes after STOP mean another format (the sniffer routes stacked pickles to the
        // legacy reader), never a pickle whose tail can be ignored.
        guard result.endOffset == bytes.count else {
            throw TorchError.trailingBytes(
                offset: result.endOffset, count: bytes.count - result.endOffset,
                after: "the pickle's STOP")
        }
        globals = result.globals
        let graph = TorchObjectGraph(result: result) { _, name in
            throw TorchError.invalidPersistentID(path: name, reason: "a bare pickle has no storage records")
        }
        (entries, skipped) = try graph.contents()
    }

    public func bytes(of entry: TensorEntry) throws -> TensorBytes {
        throw TorchError.recordMissing(name: entry.storage.key)
    }
}
