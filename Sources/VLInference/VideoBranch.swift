/// Video-LLaMA's vision branch, frames → LLM input vectors (spec §3.4), read top to bottom:
///
/// ```
/// frames [T, 3, 224, 224]
///   → EVA ViT-g                         [T, 257, 1408]   stage `vision.encoder.out`
///   → ln_vision (eps 1e-5)              [T, 257, 1408]   stage `vision.ln.out`
///   → BLIP-2 Q-Former (B = T items)     [T, 32, 768]     stage `vision.qformer.out`
///   → + frame_pos[t] on frame t's 32 tokens, flattened (t, q) → memory [1, T·32, 768]
///   → video Q-Former (B = 1)            [32, 768]        stage `video.qformer.out`
///   → llama_proj                        [32, d_llm]      stage `video.out`
/// ```
///
/// A still image is a 1-frame video. Each stage is public so `vlpack verify` can run it on a reference's
/// own input. The sub-models keep their activation buffers between calls.
public final class VideoBranch {
    public let weights: Weights
    public let eva: EVAViT
    public let qformer: QFormer
    public let videoQFormer: QFormer
    /// ln_vision's eps (1e-5: torch's default LayerNorm, unlike EVA's 1e-6).
    public let lnVisionEps: Float
    public let maxFrames: Int
    public let llmHidden: Int
    private let scratch = FloatBuffer()

    public init(weights: Weights) throws(InferenceError) {
        self.weights = weights
        eva = try EVAViT(weights: weights)
        qformer = try QFormer(weights: weights, component: "blip2_qformer", prefix: "vision.qformer", queryTokens: "vision.query_tokens")
        videoQFormer = try QFormer(weights: weights, component: "video_branch", prefix: "video.qformer", queryTokens: "video.query_tokens")
        lnVisionEps = (try? ConfigReader(weights, "blip2_qformer").float("ln_vision_eps")) ?? 1e-5
        let video = try ConfigReader(weights, "video_branch")
        maxFrames = try video.int("max_frames")
        llmHidden = try video.int("llm_hidden")
        let W = eva.config.width, H = videoQFormer.config.hidden
        guard qformer.config.encoderWidth == W, videoQFormer.config.encoderWidth == qformer.config.hidden else {
            throw .badInput("vision branch: Q-Former widths do not chain (\(W) → \(qformer.config.encoderWidth), \(qformer.config.hidden) → \(videoQFormer.config.encoderWidth))")
        }
        _ = try weights.tensor("vision.ln.weight", shape: [W])
        _ = try weights.tensor("vision.ln.bias", shape: [W])
        _ = try weights.tensor("video.frame_pos.weight", shape: [maxFrames, H])
        _ = try weights.tensor("video.proj.weight", shape: [llmHidden, H])
        _ = try weights.tensor("video.proj.bias", shape: [llmHidden])
    }

    /// The whole branch: frames [T, 3, S, S] → [Q, d_llm].
    public func forward(frames: [Float], count t: Int) throws(InferenceError) -> [Float] {
        let tokens = try encode(frames: frames, count: t)
        let normed = try lnVision(tokens, frames: t)
        let perFrame = try blip2QFormer(normed, frames: t)
        let video = try videoQFormer(perFrame, frames: t)
        return try project(video)
    }

    /// frames [T, 3, S, S] → EVA tokens [T, N, W].
    public func encode(frames: [Float], count t: Int) throws(InferenceError) -> [Float] {
        guard t <= maxFrames else { throw .badInput("\(t) frames; the frame position table holds \(maxFrames)") }
        return try frames.withUnsafeBufferPointer { (p) throws(InferenceError) in try eva.forward(frames: p, count: t) }
    }

    /// [T, N, W] → ln_vision → [T, N, W].
    public func lnVision(_ tokens: [Float], frames t: Int) throws(InferenceError) -> [Float] {
        let W = eva.config.width
        guard tokens.count == t * eva.config.tokens * W else { throw .badInput("ln_vision input must be [T, \(eva.config.tokens), \(W)]") }
        var out = tokens
        let weight = try weights.vector("vision.ln.weight", shape: [W]), bias = try weights.vector("vision.ln.bias", shape: [W])
        out.withUnsafeMutableBufferPointer { o in
            Ops.layerNorm(o.baseAddress!, rows: o.count / W, dim: W, weight: weight, bias: bias, eps: lnVisionEps, into: o.baseAddress!)
        }
        return out
    }

    /// [T, N, W] → BLIP-2 Q-Former, one item per frame → [T, Q, H].
    public func blip2QFormer(_ normed: [Float], frames t: Int) throws(InferenceError) -> [Float] {
        try normed.withUnsafeBufferPointer { (p) throws(InferenceError) in
            try qformer.forward(memory: p, batches: t, memoryTokens: eva.config.tokens)
        }
    }

    /// [T, Q, H] → + frame position → memory [1, T·Q, H] → video Q-Former → [Q', H].
    public func videoQFormer(_ perFrame: [Float], frames t: Int) throws(InferenceError) -> [Float] {
        let Q = qformer.config.queries, H = qformer.config.hidden
        guard t > 0, t <= maxFrames, perFrame.count == t * Q * H else {
            throw .badInput("video Q-Former input must be [T ≤ \(maxFrames), \(Q), \(H)]")
        }
        let pos = try weights.vector("video.frame_pos.weight", shape: [maxFrames, H])
        var memory = perFrame
        memory.withUnsafeMutableBufferPointer { m in
            // memory[t, q, :] += frame_pos[t, :]
            for f in 0..<t { vl_add_rows(m.baseAddress! + f * Q * H, pos + f * H, rows: Q, cols: H) }
        }
        return try memory.withUnsafeBufferPointer { (p) throws(InferenceError) in
            try videoQFormer.forward(memory: p, batches: 1, memoryTokens: t * Q)
        }
    }

    /// [Q', H] → llama_proj → [Q', d_llm].
    public func project(_ video: [Float]) throws(InferenceError) -> [Float] {
        let H = videoQFormer.config.hidden
        guard video.count % H == 0 else { throw .badInput("llama_proj input must be [Q, \(H)]") }
        let rows = video.count / H
        var out = [Float](repeating: 0, count: rows * llmHidden)
        let w = try weights.matrix("video.proj.weight", rows: llmHidden, cols: H, into: scratch)
        let b = try weights.vector("video.proj.bias", shape: [llmHidden])
        video.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                Ops.linear(x.baseAddress!, rows: rows, in: H, weight: w, bias: b, out: llmHidden, into: y.baseAddress!)
            }
        }
        return out
    }
}
