/// The one vocabulary of a `.vlpack` file and its reference files: component names (the keys of the
/// header's `components`), the canonical tensor prefixes each component owns (the model maps in
/// `Formats/maps` are the data that fill them), and the stage names of `Formats/REFERENCE.md`.
///
/// Nothing else in the sources spells a component name, a canonical prefix or a stage name; tests
/// hold the maps to this vocabulary.

/// A component of a `.vlpack` file: one released checkpoint's part of the model.
public enum ComponentName: String, Sendable, CaseIterable, Codable {
    case evaViT = "eva_vit"
    case blip2QFormer = "blip2_qformer"
    case videoBranch = "video_branch"
    case imageBindAudio = "imagebind_audio"
    case audioBranch = "audio_branch"
    case llm

    /// The component owning a canonical tensor name (the tokenizer tensor belongs to the LLM), or nil.
    /// Cost: O(prefixes).
    public static func owner(ofTensor name: String) -> ComponentName? {
        if name == TensorPrefix.tokenizerTensor { return .llm }
        return TensorPrefix.all.first { $0.contains(name) }?.component
    }
}

/// A canonical tensor prefix, e.g. `vision.encoder`: every tensor under it is named `prefix.rest`.
public struct TensorPrefix: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let component: ComponentName

    init(_ name: String, _ component: ComponentName) {
        self.name = name
        self.component = component
    }

    /// `name` followed by the separator, for prefix tests (`vision.ln.` does not match `vision.lnx`).
    public var dotted: String { name + "." }

    /// The canonical name of `suffix` under this prefix: `TensorPrefix.visionLN["weight"]` is `vision.ln.weight`.
    public subscript(_ suffix: String) -> String { "\(name).\(suffix)" }

    /// True when `tensor` is this name itself (`vision.query_tokens`) or lies under it.
    public func contains(_ tensor: String) -> Bool { tensor == name || tensor.hasPrefix(dotted) }

    public var description: String { name }

    // EVA ViT-g.
    public static let visionEncoder = TensorPrefix("vision.encoder", .evaViT)
    // BLIP-2: ln_vision, the Q-Former and its query tokens.
    public static let visionLN = TensorPrefix("vision.ln", .blip2QFormer)
    public static let visionQFormer = TensorPrefix("vision.qformer", .blip2QFormer)
    public static let visionQueryTokens = TensorPrefix("vision.query_tokens", .blip2QFormer)
    // The vision-language branch (VL_*.pth).
    public static let videoQFormer = TensorPrefix("video.qformer", .videoBranch)
    public static let videoQueryTokens = TensorPrefix("video.query_tokens", .videoBranch)
    public static let videoFramePosition = TensorPrefix("video.frame_pos", .videoBranch)
    public static let videoProjection = TensorPrefix("video.proj", .videoBranch)
    // ImageBind-huge's audio tower.
    public static let audioEncoder = TensorPrefix("audio.encoder", .imageBindAudio)
    // The audio-language branch (AL_*.pth).
    public static let audioQFormer = TensorPrefix("audio.qformer", .audioBranch)
    public static let audioQueryTokens = TensorPrefix("audio.query_tokens", .audioBranch)
    public static let audioPosition = TensorPrefix("audio.pos", .audioBranch)
    public static let audioProjection = TensorPrefix("audio.proj", .audioBranch)
    // The LLaMA decoder.
    public static let llmEmbedTokens = TensorPrefix("llm.embed_tokens", .llm)
    public static let llmLayers = TensorPrefix("llm.layers", .llm)
    public static let llmNorm = TensorPrefix("llm.norm", .llm)
    public static let llmHead = TensorPrefix("llm.lm_head", .llm)

    /// The LLM's `tokenizer.model` bytes, stored as one U8 tensor.
    public static let tokenizerTensor = "tokenizer.model"

    /// Every prefix, in component order. No prefix lies under another, so at most one contains a tensor.
    public static let all: [TensorPrefix] = [
        visionEncoder, visionLN, visionQFormer, visionQueryTokens,
        videoQFormer, videoQueryTokens, videoFramePosition, videoProjection,
        audioEncoder, audioQFormer, audioQueryTokens, audioPosition, audioProjection,
        llmEmbedTokens, llmLayers, llmNorm, llmHead,
    ]

    /// The prefixes `component` owns.
    public static func owned(by component: ComponentName) -> [TensorPrefix] { all.filter { $0.component == component } }
}

/// A stage output named in reference and embedding files (`Formats/REFERENCE.md`).
public enum StageName: String, Sendable, CaseIterable, Codable {
    case inputFrames = "input.frames"
    case visionEncoderOut = "vision.encoder.out"
    case visionLNOut = "vision.ln.out"
    case visionQFormerOut = "vision.qformer.out"
    case videoQFormerOut = "video.qformer.out"
    case videoOut = "video.out"
    /// The audio branch's input: log-mel clips [S, 1, mel, frames], normalized (spec §4.3).
    case inputMel = "input.mel"
    /// ImageBind's audio CLS token after the head's LayerNorm, [S, W] (the official `audio_feature`).
    case audioEncoderCLS = "audio.encoder.cls"
    /// ImageBind's audio embedding after projection, L2-normalize and × logit scale, [S, out_dim].
    case audioEncoderOut = "audio.encoder.out"
    case audioQFormerOut = "audio.qformer.out"
    case audioOut = "audio.out"
    /// Token ids over the whole spliced sequence, as floats (−1 where an embedding block stands).
    case inputIDs = "input.ids"
    /// The decoder's input rows [L, d]: token embeddings, with soft prompts spliced between them.
    case llmInputEmbeds = "llm.input_embeds"
    /// Each decoder layer's output (the residual stream), [layers, L, d].
    case llmLayersOut = "llm.layers.out"
    /// Teacher-forced next-token logits at every position, [L, V].
    case llmLogits = "llm.logits"
    /// The reference's greedy continuation (stop ids excluded).
    case llmGreedyIDs = "llm.greedy_ids"
    /// The reference's logits that chose each greedy id, [N, V] (for the top-2 margin rule).
    case llmGreedyLogits = "llm.greedy_logits"
}
