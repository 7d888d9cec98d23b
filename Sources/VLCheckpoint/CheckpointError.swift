import VLCore

/// Errors about checkpoint sets as a whole (formats, folders, shard indexes). Errors inside one
/// file come from that format's own enum, wrapped in `SourceError` with the file's path.
public enum CheckpointError: RuleError {
    case unrecognizedFormat(path: String, firstBytes: String)
    case emptyFolder(path: String)
    case ambiguousFolder(path: String, candidates: [String])
    case invalidIndex(path: String, reason: String)
    case shardOutsideFolder(index: String, shard: String)
    case shardMissing(index: String, shard: String)
    case tensorMissingFromShard(tensor: String, shard: String)
    case duplicateTensor(tensor: String, first: String, second: String)
    /// A shard index names another shard index as a shard (which could loop).
    case shardIsIndex(index: String, shard: String)

    public var detail: String {
        switch self {
        case let .unrecognizedFormat(path, first):
            "\(path): not a torch zip, legacy torch file, safetensors file, shard index or pickle (starts with \(first))"
        case let .emptyFolder(path):
            "\(path): no checkpoint file or index in this folder"
        case let .ambiguousFolder(path, candidates):
            "\(path): several checkpoint files and no index (\(candidates.joined(separator: ", "))); name one file"
        case let .invalidIndex(path, reason):
            "\(path): \(reason)"
        case let .shardOutsideFolder(index, shard):
            "\(index): shard '\(shard)' is outside the index's folder"
        case let .shardMissing(index, shard):
            "\(index): shard '\(shard)' does not exist"
        case let .tensorMissingFromShard(tensor, shard):
            "tensor '\(tensor)' is listed in shard '\(shard)' but that file does not hold it"
        case let .duplicateTensor(tensor, first, second):
            "tensor '\(tensor)' appears in both '\(first)' and '\(second)'"
        case let .shardIsIndex(index, shard):
            "\(index): shard '\(shard)' is itself a shard index; an index must list checkpoint files"
        }
    }
}
