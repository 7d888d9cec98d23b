import Foundation
import Logging
import VLCheckpoint
import VLCore
import VLTorch

/// One user-given input resolved to a component: its open sources (several only for Meta
/// model-parallel shards), the family, the config found beside it and its tokenizer.
struct ConversionInput {
    let path: String
    let family: ComponentFamily
    /// Model-parallel shards in rank order (`consolidated.00.pth`, `.01`, ...); one source otherwise.
    let shards: [any TensorSource]
    /// Hyperparameters read from `config.json` / `params.json`, in canonical config keys.
    let fileConfig: [(key: String, value: JSONValue)]
    let tokenizer: String?
    /// The LLM's special tokens and how the slow LlamaTokenizer strips around them, from
    /// `tokenizer_config.json` (else `special_tokens_map.json`): `{"content", "lstrip", "rstrip"}`.
    let specialTokens: [JSONValue]
    /// Every file the conversion reads for this input (provenance).
    let files: [String]

    static func resolve(_ path: String, tokenizerOverride: String?, logger: Logger) throws -> ConversionInput {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SourceError(path: path, underlying: FileError.opening(path, errno: ENOENT))
        }
        let folder = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        let names = (try? fm.contentsOfDirectory(atPath: folder)) ?? []
        func beside(_ name: String) -> String? {
            names.contains(name) ? (folder as NSString).appendingPathComponent(name) : nil
        }

        let shards: [any TensorSource]
        if isDirectory.boolValue, names.contains("params.json"), names.contains(where: isMetaShard) {
            shards = try names.filter(isMetaShard).sorted().map {
                try Checkpoint.openFile((folder as NSString).appendingPathComponent($0), logger: logger)
            }
        } else {
            shards = [try Checkpoint.open(path, logger: logger)]
        }
        guard shards.contains(where: { !$0.entries.isEmpty }) else {
            let skipped = shards.reduce(0) { $0 + $1.skipped.count }
            throw ConvertError.noTensorContributed(path: path, reason: "it holds no tensors (\(skipped) other objects)")
        }
        let family = ComponentFamily.detect(shards[0].entries)
        guard family != .unknown else { throw ConvertError.unknownFamily(path: path) }

        var fileConfig: [(key: String, value: JSONValue)] = []
        var extraFiles: [String] = []
        var tokenizer: String?
        var specialTokens: [JSONValue] = []
        switch family {
        case .llamaHF:
            if let config = beside("config.json") {
                fileConfig = try hfConfig(config)
                extraFiles.append(config)
            }
            if let generation = beside("generation_config.json") {
                fileConfig += try LLMConfigFile.generation(readJSON(generation), origin: generation)
                extraFiles.append(generation)
            }
            if let tokens = beside("tokenizer_config.json") ?? beside("special_tokens_map.json") {
                specialTokens = try LLMConfigFile.specialTokens(readJSON(tokens), origin: tokens)
                extraFiles.append(tokens)
            }
            tokenizer = tokenizerOverride ?? beside("tokenizer.model")
        case .llamaMeta:
            if let params = beside("params.json") {
                fileConfig = try metaParams(params)
                extraFiles.append(params)
            }
            tokenizer = tokenizerOverride ?? beside("tokenizer.model")
        default:
            break
        }
        if let tokenizer { extraFiles.append(tokenizer) }
        var files: [String] = []
        for shard in shards {
            for file in [shard.path] + shard.entries.map(\.storage.file) where !files.contains(file) && !isFolder(file) {
                files.append(file)
            }
        }
        return ConversionInput(
            path: path, family: family, shards: shards, fileConfig: fileConfig,
            tokenizer: tokenizer, specialTokens: specialTokens, files: files + extraFiles)
    }

    private static func isMetaShard(_ name: String) -> Bool {
        name.hasPrefix("consolidated.") && name.hasSuffix(".pth")
    }

    private static func isFolder(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    private static func readJSON(_ path: String) throws -> JSONValue {
        let file = try MappedFile(path: path)
        return try attributing(to: path) { try JSONValue.parse(file.bytes) }
    }

    static func hfConfig(_ path: String) throws -> [(key: String, value: JSONValue)] {
        try LLMConfigFile.hf(readJSON(path), origin: path)
    }

    static func metaParams(_ path: String) throws -> [(key: String, value: JSONValue)] {
        try LLMConfigFile.meta(readJSON(path), origin: path)
    }
}
