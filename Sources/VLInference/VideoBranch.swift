import VLCore

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
/// A still image is a 1-frame video. `stages` is the single definition of this chain; each stage is
/// also public so `vlpack verify` can run it on a reference's own input. The branch is immutable and
/// shared; a run's activations live in its `RunState`.
public struct VideoBranch: Branch {
    public let weights: Weights
    public let eva: EVAViT
    public let qformer: QFormer
    public let videoQFormer: QFormer
    /// ln_vision's eps (1e-5: torch's default LayerNorm, unlike EVA's 1e-6).
    public let lnVisionEps: Float
    public let maxFrames: Int
    public let llmHidden: Int

    /// The activations of one run (each sub-model's, and llama_proj's weight scratch).
    public final class RunState: @unchecked Sendable {
        let eva = EVAViT.RunState()
        let qformer = QFormer.RunState()
        let videoQFormer = QFormer.RunState()
        let scratch = FloatBuffer()
        public init() {}
    }

    public func makeRunState() -> RunState { RunState() }

    public static let input = StageName.inputFrames

    public static let stages: [BranchStage<VideoBranch>] = [
        BranchStage(
            name: .visionEncoderOut, label: "encoder", weights: [.visionEncoder],
            outputShape: { b, t in [t, b.eva.config.tokens, b.eva.config.width] },
            run: { b, x, t, s, c throws(InferenceError) in try b.encode(frames: x, count: t, state: s, on: c) }),
        BranchStage(
            name: .visionLNOut, label: "ln_vision", weights: [.visionLN],
            outputShape: { b, t in [t, b.eva.config.tokens, b.eva.config.width] },
            run: { b, x, t, _, c throws(InferenceError) in try b.lnVision(x, frames: t, on: c) }),
        BranchStage(
            name: .visionQFormerOut, label: "qformer", weights: [.visionQFormer, .visionQueryTokens],
            outputShape: { b, t in [t, b.qformer.config.queries, b.qformer.config.hidden] },
            run: { b, x, t, s, c throws(InferenceError) in try b.blip2QFormer(x, frames: t, state: s, on: c) }),
        BranchStage(
            name: .videoQFormerOut, label: "video_qformer", weights: [.videoQFormer, .videoQueryTokens, .videoFramePosition],
            outputShape: { b, _ in [b.videoQFormer.config.queries, b.videoQFormer.config.hidden] },
            run: { b, x, t, s, c throws(InferenceError) in try b.videoQFormer(x, frames: t, state: s, on: c) }),
        BranchStage(
            name: .videoOut, label: "llama_proj", weights: [.videoProjection],
            outputShape: { b, _ in [b.videoQFormer.config.queries, b.llmHidden] },
            run: { b, x, _, s, c throws(InferenceError) in try b.project(x, state: s, on: c) }),
    ]

    public func inputShape(count t: Int) -> [Int] { [t, 3, eva.config.imageSize, eva.config.imageSize] }

    public init(weights: Weights) throws(InferenceError) {
        self.weights = weights
        eva = try EVAViT(weights: weights)
        qformer = try QFormer(weights: weights, component: .blip2QFormer, prefix: .visionQFormer, queryTokens: .visionQueryTokens)
        videoQFormer = try QFormer(weights: weights, component: .videoBranch, prefix: .videoQFormer, queryTokens: .videoQueryTokens)
        lnVisionEps = (try? ConfigReader(weights, .blip2QFormer).float("ln_vision_eps")) ?? 1e-5
        let video = try ConfigReader(weights, .videoBranch)
        maxFrames = try video.int("max_frames")
        llmHidden = try video.int("llm_hidden")
        let W = eva.config.width, H = videoQFormer.config.hidden
        guard qformer.config.encoderWidth == W else {
            throw .widthsDoNotChain(
                from: ComponentName.evaViT.rawValue, produces: W,
                to: ComponentName.blip2QFormer.rawValue, reads: qformer.config.encoderWidth)
        }
        guard videoQFormer.config.encoderWidth == qformer.config.hidden else {
            throw .widthsDoNotChain(
                from: ComponentName.blip2QFormer.rawValue, produces: qformer.config.hidden,
                to: ComponentName.videoBranch.rawValue, reads: videoQFormer.config.encoderWidth)
        }
        _ = try weights.tensor(TensorPrefix.visionLN["weight"], shape: [W])
        _ = try weights.tensor(TensorPrefix.visionLN["bias"], shape: [W])
        _ = try weights.tensor(TensorPrefix.videoFramePosition["weight"], shape: [maxFrames, H])
        _ = try weights.tensor(TensorPrefix.videoProjection["weight"], shape: [llmHidden, H])
        _ = try weights.tensor(TensorPrefix.videoProjection["bias"], shape: [llmHidden])
    }

    /// The whole branch: frames [T, 3, S, S] → [Q, d_llm].
    public func forward(frames: [Float], count t: Int, state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        try forward(frames, count: t, state: state, on: context)
    }

    /// frames [T, 3, S, S] → EVA tokens [T, N, W].
    public func encode(frames: [Float], count t: Int, state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        guard t <= maxFrames else { throw .tooManyFrames(count: t, limit: maxFrames) }
        return try frames.withUnsafeBufferPointer { (p) throws(InferenceError) in
            try eva.forward(frames: p, count: t, state: state.eva, on: context)
        }
    }

    /// [T, N, W] → ln_vision → [T, N, W].
    public func lnVision(_ tokens: [Float], frames t: Int, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        let W = eva.config.width
        guard tokens.count == t * eva.config.tokens * W else {
            throw .inputShapeMismatch(stage: StageName.visionLNOut.rawValue, expected: [t, eva.config.tokens, W], count: tokens.count)
        }
        var out = tokens
        let weight = try weights.vector(TensorPrefix.visionLN["weight"], shape: [W])
        let bias = try weights.vector(TensorPrefix.visionLN["bias"], shape: [W])
        out.withUnsafeMutableBufferPointer { o in
            Ops.layerNorm(o.baseAddress!, rows: o.count / W, dim: W, weight: weight, bias: bias, eps: lnVisionEps, into: o.baseAddress!, on: context)
        }
        return out
    }

    /// [T, N, W] → BLIP-2 Q-Former, one item per frame → [T, Q, H].
    public func blip2QFormer(_ normed: [Float], frames t: Int, state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        try normed.withUnsafeBufferPointer { (p) throws(InferenceError) in
            try qformer.forward(memory: p, batches: t, memoryTokens: eva.config.tokens, state: state.qformer, on: context)
        }
    }

    /// [T, Q, H] → + frame position → memory [1, T·Q, H] → video Q-Former → [Q', H].
    public func videoQFormer(_ perFrame: [Float], frames t: Int, state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        let Q = qformer.config.queries, H = qformer.config.hidden
        guard t <= maxFrames else { throw .tooManyFrames(count: t, limit: maxFrames) }
        guard t > 0, perFrame.count == t * Q * H else {
            throw .inputShapeMismatch(stage: StageName.videoQFormerOut.rawValue, expected: [t, Q, H], count: perFrame.count)
        }
        let pos = try weights.vector(TensorPrefix.videoFramePosition["weight"], shape: [maxFrames, H])
        var memory = perFrame
        memory.withUnsafeMutableBufferPointer { m in
            // memory[t, q, :] += frame_pos[t, :]
            for f in 0..<t { vl_add_rows(m.baseAddress! + f * Q * H, pos + f * H, rows: Q, cols: H) }
        }
        return try memory.withUnsafeBufferPointer { (p) throws(InferenceError) in
            try videoQFormer.forward(memory: p, batches: 1, memoryTokens: t * Q, state: state.videoQFormer, on: context)
        }
    }

    /// [Q', H] → llama_proj → [Q', d_llm].
    public func project(_ video: [Float], state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        try weights.project(
            video, prefix: .videoProjection, in: videoQFormer.config.hidden, out: llmHidden, stage: .videoOut,
            rows: videoQFormer.config.queries, scratch: state.scratch, on: context)
    }
}
