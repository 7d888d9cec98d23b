import VLCore

/// Video-LLaMA's audio branch, log-mel clips → LLM input vectors (spec §3.5, §3.6), read top to bottom:
///
/// ```
/// mel [S, 1, 128, 204]
///   → ImageBind audio tower, head LN, CLS   [S, 768]      stage `audio.encoder.cls`
///   → head proj, L2-normalize × 20          [S, 1024]     stage `audio.encoder.out`
///   → + audio_pos[s], memory [1, S, 1024]
///   → audio Q-Former (B = 1)                [8, 768]      stage `audio.qformer.out`
///   → audio_llama_proj                      [8, d_llm]    stage `audio.out`
/// ```
///
/// `stages` is the single definition of this chain (as `VideoBranch`'s); the branch is immutable and
/// shared, a run's activations live in its `RunState`.
public struct AudioBranch: Branch {
    public let weights: Weights
    public let encoder: ImageBindAudio
    public let qformer: QFormer
    public let maxClips: Int
    public let llmHidden: Int

    public final class RunState: @unchecked Sendable {
        let encoder = ImageBindAudio.RunState()
        let qformer = QFormer.RunState()
        let scratch = FloatBuffer()
        public init() {}
    }

    public func makeRunState() -> RunState { RunState() }

    public static let input = StageName.inputMel

    public static let stages: [BranchStage<AudioBranch>] = [
        BranchStage(
            name: .audioEncoderCLS, label: "encoder", weights: [.audioEncoder],
            outputShape: { b, s in [s, b.encoder.config.width] },
            run: { b, x, s, st, c throws(InferenceError) in try b.encode(mel: x, clips: s, state: st, on: c) }),
        BranchStage(
            name: .audioEncoderOut, label: "head", weights: [.audioEncoder],
            outputShape: { b, s in [s, b.encoder.config.outDim] },
            run: { b, x, _, st, c throws(InferenceError) in try b.encoder.embed(cls: x, state: st.encoder, on: c) }),
        BranchStage(
            name: .audioQFormerOut, label: "audio_qformer", weights: [.audioQFormer, .audioQueryTokens, .audioPosition],
            outputShape: { b, _ in [b.qformer.config.queries, b.qformer.config.hidden] },
            run: { b, x, s, st, c throws(InferenceError) in try b.audioQFormer(x, clips: s, state: st, on: c) }),
        BranchStage(
            name: .audioOut, label: "audio_proj", weights: [.audioProjection],
            outputShape: { b, _ in [b.qformer.config.queries, b.llmHidden] },
            run: { b, x, _, st, c throws(InferenceError) in try b.project(x, state: st, on: c) }),
    ]

    public func inputShape(count s: Int) -> [Int] { [s, 1, encoder.config.melBins, encoder.config.targetLength] }

    public init(weights: Weights) throws(InferenceError) {
        self.weights = weights
        encoder = try ImageBindAudio(weights: weights)
        qformer = try QFormer(weights: weights, component: .audioBranch, prefix: .audioQFormer, queryTokens: .audioQueryTokens)
        let audio = try ConfigReader(weights, .audioBranch)
        maxClips = try audio.int("max_clips")
        llmHidden = try audio.int("llm_hidden")
        guard qformer.config.encoderWidth == encoder.config.outDim else {
            throw .widthsDoNotChain(
                from: ComponentName.imageBindAudio.rawValue, produces: encoder.config.outDim,
                to: ComponentName.audioBranch.rawValue, reads: qformer.config.encoderWidth)
        }
        let H = qformer.config.hidden
        _ = try weights.tensor(TensorPrefix.audioPosition["weight"], shape: [maxClips, encoder.config.outDim])
        _ = try weights.tensor(TensorPrefix.audioProjection["weight"], shape: [llmHidden, H])
        _ = try weights.tensor(TensorPrefix.audioProjection["bias"], shape: [llmHidden])
    }

    /// mel [S, 1, mel, frames] → the audio tower's CLS [S, W].
    public func encode(mel: [Float], clips s: Int, state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        guard s <= maxClips else { throw .tooManyClips(count: s, limit: maxClips) }
        return try mel.withUnsafeBufferPointer { (p) throws(InferenceError) in
            try encoder.forward(mel: p, clips: s, state: state.encoder, on: context)
        }
    }

    /// [S, D] → + audio position s on clip s → memory [1, S, D] → audio Q-Former → [Q, H].
    public func audioQFormer(_ clips: [Float], clips s: Int, state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        let D = encoder.config.outDim
        guard s <= maxClips else { throw .tooManyClips(count: s, limit: maxClips) }
        guard s > 0, clips.count == s * D else {
            throw .inputShapeMismatch(stage: StageName.audioQFormerOut.rawValue, expected: [s, D], count: clips.count)
        }
        let pos = try weights.vector(TensorPrefix.audioPosition["weight"], shape: [maxClips, D])
        var memory = clips
        memory.withUnsafeMutableBufferPointer { m in vl_add_rows(m.baseAddress!, pos, rows: 1, cols: s * D) }
        return try memory.withUnsafeBufferPointer { (p) throws(InferenceError) in
            try qformer.forward(memory: p, batches: 1, memoryTokens: s, state: state.qformer, on: context)
        }
    }

    /// [Q, H] → audio_llama_proj → [Q, d_llm].
    public func project(_ audio: [Float], state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        try weights.project(
            audio, prefix: .audioProjection, in: qformer.config.hidden, out: llmHidden, stage: .audioOut,
            rows: qformer.config.queries, scratch: state.scratch, on: context)
    }
}
