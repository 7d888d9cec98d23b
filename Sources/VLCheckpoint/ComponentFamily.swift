import VLCore

/// Which released Video-LLaMA component a checkpoint is, told from its key names and shapes
/// (spec `video-llama.md` §2).
public enum ComponentFamily: String, Sendable, CaseIterable, Codable {
    case evaVitG = "eva-vit-g"
    case blip2QFormer = "blip2-qformer"
    case imageBindHuge = "imagebind-huge"
    case videoLLaMAVL = "videollama-vl"
    case videoLLaMAAL = "videollama-al"
    case llamaHF = "llama-hf"
    case llamaMeta = "llama-meta"
    case unknown

    /// Detects the family of a set of tensors. Cost: O(entries).
    public static func detect(_ entries: [TensorEntry]) -> ComponentFamily {
        var shapes: [String: [Int]] = [:]
        for e in entries { shapes[e.name] = e.shape }
        func has(_ name: String) -> Bool { shapes[name] != nil }
        func hasPrefix(_ prefix: String) -> Bool { entries.contains { $0.name.hasPrefix(prefix) } }

        // EVA ViT-g: flat state dict; the fused qkv weight has 3× the width in rows.
        if let pos = shapes["pos_embed"], let qkv = shapes["blocks.0.attn.qkv.weight"], has("blocks.0.attn.q_bias"),
            has("patch_embed.proj.weight"), pos.count == 3, qkv.count == 2, qkv[0] == 3 * pos[2]
        {
            return .evaVitG
        }
        // Trainer checkpoints keep the model under "model."; the trained branch decides the family.
        // Look at weights, not buffers: every branch file also carries the other Q-Formers'
        // `position_ids` buffers.
        if hasPrefix("model.audio_Qformer.bert.encoder.") || has("model.audio_llama_proj.weight") { return .videoLLaMAAL }
        if hasPrefix("model.video_Qformer.bert.encoder.") || has("model.llama_proj.weight") { return .videoLLaMAVL }
        if has("model.query_tokens") && hasPrefix("model.Qformer.bert.encoder.layer.") { return .blip2QFormer }
        if hasPrefix("modality_trunks.audio.blocks.") && has("modality_preprocessors.audio.cls_token") { return .imageBindHuge }
        if let embed = shapes["model.embed_tokens.weight"], let q = shapes["model.layers.0.self_attn.q_proj.weight"],
            embed.count == 2, q == [embed[1], embed[1]]
        {
            return .llamaHF
        }
        if let embed = shapes["tok_embeddings.weight"], has("layers.0.attention.wq.weight"), embed.count == 2 {
            return .llamaMeta
        }
        return .unknown
    }
}
