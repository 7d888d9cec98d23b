import Foundation
import Logging
import VLCore

/// A sharded checkpoint: `model.safetensors.index.json` or `pytorch_model.bin.index.json` with
/// `{"weight_map": {tensor: shard file}}`. Every shard is opened (metadata only) and cross-checked
/// against the index: shard names stay inside the folder, every shard exists, every listed tensor is
/// in its shard, and no tensor appears in two shards.
public final class ShardedCheckpoint: TensorSource {
    public let path: String
    public let entries: [TensorEntry]
    public let skipped: [SkippedObject]
    public let globals: [String]
    /// Open shards by file name, and which shard holds each tensor.
    private let shards: [String: any TensorSource]
    private let shardOf: [String: String]

    /// Upper bound on the index file size (real ones are < 100 KB).
    static let maxIndexBytes = 64 << 20

    public init(indexPath: String, logger: Logger) throws {
        path = indexPath
        let folder = (indexPath as NSString).deletingLastPathComponent
        let index = try attributing(to: indexPath) { () throws -> JSONValue in
            let file = try MappedFile(path: indexPath)
            guard file.count <= Self.maxIndexBytes else {
                throw CheckpointError.invalidIndex(path: indexPath, reason: "index is \(file.count) bytes (limit \(Self.maxIndexBytes))")
            }
            return try JSONValue.parse(file.bytes)
        }
        guard let weightMap = index[key: "weight_map"]?.objectEntries else {
            throw CheckpointError.invalidIndex(path: indexPath, reason: "no \"weight_map\" object")
        }
        var listed: [String: String] = [:]
        var shardOrder: [String] = []
        for (tensor, value) in weightMap {
            guard let shard = value.string else {
                throw CheckpointError.invalidIndex(path: indexPath, reason: "weight_map[\"\(tensor)\"] is not a file name")
            }
            guard Self.staysInside(shard) else { throw CheckpointError.shardOutsideFolder(index: indexPath, shard: shard) }
            if !shardOrder.contains(shard) { shardOrder.append(shard) }
            listed[tensor] = shard
        }

        var shards: [String: any TensorSource] = [:]
        var entries: [TensorEntry] = []
        var shardOf: [String: String] = [:]
        var skipped: [SkippedObject] = []
        var globals = Set<String>()
        for shard in shardOrder {
            let shardPath = (folder as NSString).appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: shardPath) else { throw CheckpointError.shardMissing(index: indexPath, shard: shard) }
            let source = try Checkpoint.openFile(shardPath, logger: logger, insideIndex: indexPath)
            shards[shard] = source
            for entry in source.entries {
                if let first = shardOf[entry.name] {
                    throw CheckpointError.duplicateTensor(tensor: entry.name, first: first, second: shard)
                }
                if let owner = listed[entry.name], owner != shard {
                    throw CheckpointError.duplicateTensor(tensor: entry.name, first: owner, second: shard)
                }
                if listed[entry.name] == nil { logger.warning("\(shard): tensor '\(entry.name)' is not in the index; kept") }
                shardOf[entry.name] = shard
                entries.append(entry)
            }
            skipped += source.skipped
            globals.formUnion(source.globals)
        }
        for (tensor, shard) in weightMap.compactMap({ t, v in v.string.map { (t, $0) } }) where shardOf[tensor] == nil {
            throw CheckpointError.tensorMissingFromShard(tensor: tensor, shard: shard)
        }
        self.entries = entries
        self.skipped = skipped
        self.globals = globals.sorted()
        self.shards = shards
        self.shardOf = shardOf
    }

    public func bytes(of entry: TensorEntry) throws -> TensorBytes {
        guard let shard = shardOf[entry.name], let source = shards[shard] else {
            throw CheckpointError.tensorMissingFromShard(tensor: entry.name, shard: "(none)")
        }
        return try source.bytes(of: entry)
    }

    /// A shard name must be a relative path without `..` components.
    static func staysInside(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && !name.split(separator: "/").contains("..") && !name.contains("\\")
    }
}
