/// The uniform face of every checkpoint reader (torch zip, legacy torch, safetensors, shard sets).
///
/// Opening a source parses metadata only; `entries` is available without touching tensor data, and
/// `bytes(of:)` fetches one tensor on demand.
public protocol TensorSource: AnyObject, Sendable {
    /// Path the source was opened from (a file, or a folder for shard sets).
    var path: String { get }
    /// Every tensor, in source order.
    var entries: [TensorEntry] { get }
    /// Non-tensor objects that were skipped, with their key paths.
    var skipped: [SkippedObject] { get }
    /// Pickle globals referenced (`module.name`), sorted; empty for formats without pickle.
    var globals: [String] { get }
    /// The tensor's bytes, C-contiguous little-endian. Zero-copy when the storage is mapped,
    /// contiguous and little-endian; otherwise a private copy of exactly `entry.byteCount` bytes.
    func bytes(of entry: TensorEntry) throws -> TensorBytes
}

extension TensorSource {
    public func entry(named name: String) -> TensorEntry? {
        entries.first { $0.name == name }
    }
}
