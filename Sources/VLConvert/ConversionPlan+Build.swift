import Logging
import VLCheckpoint
import VLCore

extension ConversionPlan {
    /// Resolves every input, matches its tensors against its family's map, checks shapes against
    /// the config and the components against each other. Reads metadata only.
    public static func make(
        inputs: [String], maps: [ComponentFamily: ModelMap], options: Options,
        logger: Logger
    ) throws -> ConversionPlan {
        var components: [Component] = []
        var tensors: [Tensor] = []
        var skipped: [Skipped] = []
        var files: [String] = []
        var tokenizer: String?
        var specialTokens: [JSONValue] = []
        var targets: [String: String] = [:]  // canonical name → source file, for duplicates

        for path in inputs {
            let input = try ConversionInput.resolve(path, tokenizerOverride: options.tokenizer, logger: logger)
            guard let map = maps[input.family] else { throw ConvertError.unknownFamily(path: path) }
            if let earlier = components.first(where: { $0.name == map.component }) {
                throw ConvertError.duplicateComponent(component: map.component, first: earlier.input, second: path)
            }
            var builder = ComponentBuilder(map: map, input: input, options: options)
            try builder.run()
            for t in builder.tensors {
                if let first = targets[t.name] {
                    throw ConvertError.duplicateTarget(tensor: t.name, first: first, second: t.sources[0].entry.storage.file)
                }
                targets[t.name] = t.sources[0].entry.storage.file
            }
            tensors += builder.tensors
            skipped += builder.skipped
            components.append(Component(name: map.component, family: map.family, input: path, config: builder.config.entries))
            files += input.files.filter { !files.contains($0) }
            if map.component == ComponentName.llm.rawValue {
                guard let t = input.tokenizer else { throw ConvertError.missingTokenizer(component: ComponentName.llm.rawValue) }
                tokenizer = t
                specialTokens = input.specialTokens
            }
            logger.info("\(path): \(map.family.rawValue) → \(map.component), \(builder.tensors.count) tensors, \(builder.skipped.count) skipped")
        }
        try checkAcross(components)
        var template: String?
        if let index = components.firstIndex(where: { $0.name == ComponentName.llm.rawValue }) {
            let chosen = try chooseTemplate(components[index], requested: options.template)
            template = chosen
            let c = components[index]
            components[index] = Component(name: c.name, family: c.family, input: c.input, config: c.config + [("template", JSONValue(chosen))])
        } else if let requested = options.template {
            logger.warning("--template \(requested) ignored: no LLM among the inputs")
        }
        return ConversionPlan(
            components: components, tensors: tensors, skipped: skipped, files: files,
            tokenizer: tokenizer, specialTokens: specialTokens, template: template)
    }

    /// Widths that must agree between components when both are present.
    static func checkAcross(_ components: [Component]) throws {
        func value(_ component: String, _ key: String) -> Int? {
            components.first { $0.name == component }?.config.first { $0.key == key }?.value.int
        }
        let checks: [(String, String, String, String, String)] = [
            (
                ComponentName.videoBranch.rawValue, "llm_hidden", ComponentName.llm.rawValue, "hidden",
                "llama_proj output width must equal the LLM's hidden size"
            ),
            (
                ComponentName.audioBranch.rawValue, "llm_hidden", ComponentName.llm.rawValue, "hidden",
                "audio_llama_proj output width must equal the LLM's hidden size"
            ),
            (
                ComponentName.blip2QFormer.rawValue, "encoder_width", ComponentName.evaViT.rawValue, "width",
                "the Q-Former's cross-attention width must equal EVA's width"
            ),
            (
                ComponentName.videoBranch.rawValue, "encoder_width", ComponentName.blip2QFormer.rawValue, "hidden",
                "the video Q-Former reads BLIP-2 Q-Former outputs"
            ),
            (
                ComponentName.audioBranch.rawValue, "encoder_width", ComponentName.imageBindAudio.rawValue, "out_dim",
                "the audio Q-Former reads ImageBind embeddings"
            ),
        ]
        for (a, ak, b, bk, why) in checks {
            if let x = value(a, ak), let y = value(b, bk), x != y {
                throw ConvertError.crossComponentMismatch(reason: "\(a).\(ak) = \(x) but \(b).\(bk) = \(y): \(why)")
            }
        }
    }

    /// Vicuna v0 adds a `[PAD]` row (vocab 32001) and uses `###` turns; LLaMA-2-Chat uses `[INST]`.
    static func chooseTemplate(_ llm: Component, requested: String?) throws -> String {
        if let requested {
            guard ["vicuna", "llama2"].contains(requested) else {
                throw ConvertError.invalidConfig(component: ComponentName.llm.rawValue, reason: "--template must be vicuna or llama2, not '\(requested)'")
            }
            return requested
        }
        let vocab = llm.config.first { $0.key == "vocab" }?.value.int
        let maxPosition = llm.config.first { $0.key == "max_position" }?.value.int
        if vocab == 32001 { return "vicuna" }
        if llm.family == .llamaMeta || maxPosition == 4096 { return "llama2" }
        return "vicuna"
    }
}

/// Ordered config values with integer views for shape expressions.
struct ComponentConfigValues {
    private(set) var entries: [(key: String, value: JSONValue)] = []
    /// Key → position in `entries`, so a `--config` with many keys costs O(keys), not O(keys²).
    private var position: [String: Int] = [:]

    mutating func set(_ key: String, _ value: JSONValue) {
        if let i = position[key] {
            entries[i].value = value
        } else {
            position[key] = entries.count
            entries.append((key, value))
        }
    }

    func has(_ key: String) -> Bool { position[key] != nil }

    var integers: [String: Int] {
        var out: [String: Int] = [:]
        for (k, v) in entries { if let i = v.int { out[k] = i } }
        return out
    }
}
