import VLCore

/// A safetensors file opened for reading: the header is validated on open, tensor data is served
/// as zero-copy views into a read-only mapping of the file.
///
/// Opening costs one header parse (O(header size)); the data section is mapped but not touched.
/// Instances are immutable and may be shared across threads.
public final class SafetensorsFile: TensorSource {
    public let path: String
    /// Tensors in data-offset order.
    public let entries: [TensorEntry]
    /// The `__metadata__` map (e.g. `["format": "pt"]`); empty when absent.
    public let metadata: [String: String]
    /// Absolute file offset where tensor data begins (`8 + N`).
    public let dataStart: Int
    /// safetensors holds nothing but tensors.
    public let skipped: [SkippedObject] = []
    /// safetensors has no pickle.
    public let globals: [String] = []

    private let file: MappedFile
    private let indexByName: [String: Int]

    /// Maps `path` and validates its header (see `parseHeader(_:fileName:)` for the rules).
    /// Throws `SourceError` naming `path`, wrapping a `FileError` or `SafetensorsError`.
    public convenience init(path: String) throws {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch {
            throw SourceError(path: path, underlying: error)
        }
        try self.init(file: file)
    }

    /// Validates the header of an already mapped file (the format sniffer maps once and hands the
    /// mapping over). Throws `SourceError` naming the file, wrapping a `SafetensorsError`.
    public init(file: MappedFile) throws {
        path = file.path
        let header: SafetensorsHeader
        do {
            header = try Self.parseHeader(file.bytes, fileName: file.path)
        } catch {
            throw SourceError(path: file.path, underlying: error)
        }
        self.file = file
        entries = header.entries
        metadata = header.metadata
        dataStart = header.dataStart
        // Names are unique: the header parser refuses duplicate keys.
        indexByName = Dictionary(uniqueKeysWithValues: header.entries.enumerated().map { ($1.name, $0) })
    }

    /// A zero-copy view of the tensor's bytes in the mapping, O(1). The bytes are little-endian
    /// and C-contiguous but carry no alignment promise: read them with `loadUnaligned` or copy.
    /// The entry is looked up by name; its location is taken from this file, not from the argument.
    public func bytes(of entry: TensorEntry) throws -> TensorBytes {
        guard let index = indexByName[entry.name] else {
            throw SourceError(path: path, underlying: SafetensorsError.tensorNotFound(tensor: entry.name))
        }
        let location = entries[index].storage
        guard let offset = location.fileOffset, let view = file.range(offset: offset, length: location.byteCount) else {
            preconditionFailure("safetensors header validation guarantees every tensor lies inside the file")
        }
        return TensorBytes(view: view, owner: file)
    }
}
