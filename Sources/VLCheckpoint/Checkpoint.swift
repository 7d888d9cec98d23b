import Foundation
import Logging
import VLCore
import VLPackFormat
import VLSafetensors
import VLTorch

/// Opens any checkpoint VLPack reads, deciding the format from the bytes, never from the name
/// alone: torch zip, legacy stacked pickles, safetensors, a bare pickle, a shard index
/// (`*.index.json`, the path `transformers` prints), or a folder (its shard index, or its single
/// checkpoint file).
///
/// Errors inside a file arrive as `SourceError` naming the file. Cost: O(metadata).
public enum Checkpoint {
    public static func open(_ path: String, logger: Logger = Logger(label: "vlpack.checkpoint")) throws -> any TensorSource {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try openFolder(path, logger: logger)
        }
        return try openFile(path, logger: logger)
    }

    /// Opens one file, sniffing its format. A shard index is opened as its whole shard set unless
    /// `insideIndex` names the index that listed this file (an index never lists another index).
    public static func openFile(_ path: String, logger: Logger, insideIndex: String? = nil) throws -> any TensorSource {
        try attributing(to: path) {
            let file = try MappedFile(path: path)
            let format = CheckpointFormat.sniff(file.bytes, name: path)
            logger.debug("opening \(path) as \(format)")
            switch format {
            case .shardIndex:
                if let index = insideIndex { throw CheckpointError.shardIsIndex(index: index, shard: path) }
                return try ShardedCheckpoint(indexPath: path, logger: logger)
            case .vlpack: return try VLPackFile(mapping: file)
            case .torchZip: return try TorchZipCheckpoint(file: file)
            case .torchLegacy: return try TorchLegacyCheckpoint(file: file)
            case .torchTar: throw TorchError.legacyTarFormat(fileSize: file.count)
            case .safetensors: return try SafetensorsFile(file: file)
            case .pickle: return try RawPickleFile(file: file)
            case .unknown:
                let head = file.bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
                throw CheckpointError.unrecognizedFormat(path: path, firstBytes: head.isEmpty ? "nothing (empty file)" : head)
            }
        }
    }

    static let indexNames = ["model.safetensors.index.json", "pytorch_model.bin.index.json"]
    static let checkpointExtensions = [".safetensors", ".bin", ".pth", ".pt", ".ckpt"]

    /// A folder: its shard index if it has one, else its only checkpoint file.
    public static func openFolder(_ path: String, logger: Logger) throws -> any TensorSource {
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        if let index = indexNames.first(where: names.contains) ?? names.first(where: { $0.hasSuffix(".index.json") }) {
            return try ShardedCheckpoint(indexPath: (path as NSString).appendingPathComponent(index), logger: logger)
        }
        let candidates = names.filter { name in checkpointExtensions.contains { name.hasSuffix($0) } }
        guard !candidates.isEmpty else { throw CheckpointError.emptyFolder(path: path) }
        guard candidates.count == 1 else { throw CheckpointError.ambiguousFolder(path: path, candidates: candidates) }
        return try openFile((path as NSString).appendingPathComponent(candidates[0]), logger: logger)
    }
}

/// The on-disk formats, as told from a file's first bytes.
public enum CheckpointFormat: String, Sendable {
    case vlpack, torchZip, torchLegacy, torchTar, safetensors, pickle, shardIndex, unknown

    /// MARK, GLOBAL, INST, EMPTY_LIST, EMPTY_DICT, EMPTY_TUPLE, NONE.
    static let protocol0Openers: Set<UInt8> = Set("(ci]})N".utf8)

    /// safetensors is tested before pickle: its 8-byte length can look like a pickle prefix.
    public static func sniff(_ bytes: UnsafeRawBufferPointer, name: String) -> CheckpointFormat {
        if bytes.count >= 8, Array(bytes[0..<8]) == Array("VLPACK\0\0".utf8) { return .vlpack }
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4b, bytes[2] == 0x03 || bytes[2] == 0x05 { return .torchZip }
        if bytes.count >= 9, bytes[8] == UInt8(ascii: "{") { return .safetensors }
        if bytes.count < 9, name.hasSuffix(".safetensors") { return .safetensors }
        // A JSON object named like the index files transformers writes; its content is validated
        // by ShardedCheckpoint.
        if name.hasSuffix(".index.json"), bytes.first(where: { !isJSONWhitespace($0) }) == UInt8(ascii: "{") {
            return .shardIndex
        }
        if bytes.count >= 262, Array(bytes[257..<262]) == Array("ustar".utf8) { return .torchTar }
        if TorchLegacyCheckpoint.matches(bytes) { return .torchLegacy }
        if bytes.count >= 2, bytes[0] == 0x80 { return .pickle }
        // Protocol 0/1 pickles have no PROTO header; they open with one of these opcodes.
        if let first = bytes.first, protocol0Openers.contains(first) { return .pickle }
        if name.hasSuffix(".pkl") || name.hasSuffix(".pickle") { return .pickle }
        return .unknown
    }
}

private func isJSONWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
