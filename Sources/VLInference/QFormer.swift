import VLCore

/// The BERT Q-Former of BLIP-2 and Video-LLaMA (spec §3.3), query branch only, f32 on the CPU.
///
/// One implementation serves the three instances; `config.crossAttentionFreq` says which layers
/// cross-attend (BLIP-2: 12 layers, every 2nd; video/audio: 2 layers, both):
///
/// | instance | prefix | queries | memory per item |
/// |---|---|---|---|
/// | BLIP-2 | `vision.qformer` | `vision.query_tokens` [1, 32, 768] | 257 × 1408 ln_vision tokens of one frame |
/// | video | `video.qformer` | `video.query_tokens` [1, 32, 768] | T·32 × 768 frame tokens |
///
/// `forward` runs B independent items at once (the B·Q query rows share every GEMM). No masks: the
/// all-ones masks of the original add exactly zero. Cost per item and layer ≈ 2·Q·(4H² + 2·H·I)
/// + 2·Ne·E·2H (cross K/V) flops; the cross K/V projections of the memory dominate for BLIP-2.
///
/// The model is immutable and shared; the activations of a run live in its `RunState`.
public struct QFormer: Sendable {
    public let config: QFormerConfig
    let weights: Weights
    let prefix: TensorPrefix
    let queryTokens: TensorPrefix

    /// The activations of one run, reused by its later calls.
    public final class RunState: @unchecked Sendable {
        let hid = FloatBuffer()  // [B·Q, H]  hidden state
        let q = FloatBuffer()  // [B·Q, H]
        let k = FloatBuffer()  // [B·max(Q, Ne), H]
        let v = FloatBuffer()  // [B·max(Q, Ne), H]
        let ctx = FloatBuffer()  // [B·Q, H]
        let ffn = FloatBuffer()  // [B·Q, I]
        let scores = FloatBuffer()
        let scratch = FloatBuffer()  // one weight matrix converted to f32
        public init() {}
    }

    public init(weights: Weights, component: ComponentName, prefix: TensorPrefix, queryTokens: TensorPrefix) throws(InferenceError) {
        self.weights = weights
        self.prefix = prefix
        self.queryTokens = queryTokens
        config = try QFormerConfig(weights, component: component)
        try checkShapes()
    }

    /// memory [B, Ne, E] → query outputs [B, Q, H].
    public func forward(
        memory: UnsafeBufferPointer<Float>, batches b: Int, memoryTokens ne: Int, state: RunState,
        on context: ExecutionContext
    ) throws(InferenceError) -> [Float] {
        let c = config
        let (H, Q, E, I) = (c.hidden, c.queries, c.encoderWidth, c.intermediate)
        guard b > 0, ne > 0, memory.count == b * ne * E else {
            throw .inputShapeMismatch(stage: "\(prefix) memory", expected: [b, ne, E], count: memory.count)
        }
        let M = b * Q
        let hid = state.hid.reserve(M * H), q = state.q.reserve(M * H), ctx = state.ctx.reserve(M * H)
        let k = state.k.reserve(b * max(Q, ne) * H), v = state.v.reserve(b * max(Q, ne) * H)
        let ffn = state.ffn.reserve(M * I)
        let scores = state.scores
        /// y = x · W(name.weight)ᵀ + name.bias.
        func linear(
            _ name: String, _ x: UnsafePointer<Float>, rows: Int, in k: Int, out n: Int,
            into y: UnsafeMutablePointer<Float>
        ) throws(InferenceError) {
            Ops.linear(
                x, rows: rows, in: k, weight: try weights.matrix("\(name).weight", rows: n, cols: k, into: state.scratch, on: context),
                bias: try weights.vector("\(name).bias", shape: [n]), out: n, into: y, on: context)
        }
        /// In place LayerNorm with the Q-Former's eps (1e-12).
        func layerNorm(_ name: String, _ x: UnsafeMutablePointer<Float>, rows: Int) throws(InferenceError) {
            Ops.layerNorm(
                x, rows: rows, dim: H, weight: try weights.vector("\(name).weight", shape: [H]),
                bias: try weights.vector("\(name).bias", shape: [H]), eps: c.lnEps, into: x, on: context)
        }
        let mem = memory.baseAddress!

        // Embeddings: hid[b] = LN_emb(query_tokens) for every item (no positions, no words).
        let tokens = try weights.vector(queryTokens.name, shape: [1, Q, H])
        for i in 0..<b { (hid + i * Q * H).update(from: tokens, count: Q * H) }
        try layerNorm(prefix["embeddings.ln"], hid, rows: M)

        for l in 0..<c.layers {
            let p = prefix["layers.\(l)"]
            // 1. Self-attention over the Q queries of each item; post-LN residual.
            //    q, k, v = hid · W{q,k,v}ᵀ + b                          [B·Q, H]
            try linear("\(p).self_attn.q", hid, rows: M, in: H, out: H, into: q)
            try linear("\(p).self_attn.k", hid, rows: M, in: H, out: H, into: k)
            try linear("\(p).self_attn.v", hid, rows: M, in: H, out: H, into: v)
            //    ctx = softmax(q·kᵀ / √dh) · v                           [B·Q, H]
            Ops.attention(
                q: q, qStride: H, k: k, kStride: H, v: v, vStride: H, out: ctx, outStride: H,
                shape: .init(batches: b, queries: Q, keys: Q, heads: c.heads, headDim: c.headDim), scratch: scores, on: context)
            //    hid = LN(hid + ctx · Woᵀ + bo)                          [B·Q, H]
            try linear("\(p).self_attn.out", ctx, rows: M, in: H, out: H, into: q)
            Ops.add(hid, q, count: M * H, on: context)
            try layerNorm("\(p).self_attn.ln", hid, rows: M)

            // 2. Cross-attention to the item's memory (layers i % freq == 0).
            if c.hasCrossAttention(layer: l) {
                //    q = hid · Wqᵀ + b [B·Q, H];  k, v = mem · W{k,v}ᵀ + b [B·Ne, H]
                try linear("\(p).cross_attn.q", hid, rows: M, in: H, out: H, into: q)
                try linear("\(p).cross_attn.k", mem, rows: b * ne, in: E, out: H, into: k)
                try linear("\(p).cross_attn.v", mem, rows: b * ne, in: E, out: H, into: v)
                //    ctx = softmax(q·kᵀ / √dh) · v over the Ne memory tokens   [B·Q, H]
                Ops.attention(
                    q: q, qStride: H, k: k, kStride: H, v: v, vStride: H, out: ctx, outStride: H,
                    shape: .init(batches: b, queries: Q, keys: ne, heads: c.heads, headDim: c.headDim), scratch: scores, on: context)
                //    hid = LN(hid + ctx · Woᵀ + bo)
                try linear("\(p).cross_attn.out", ctx, rows: M, in: H, out: H, into: q)
                Ops.add(hid, q, count: M * H, on: context)
                try layerNorm("\(p).cross_attn.ln", hid, rows: M)
            }

            // 3. Query FFN: hid = LN(hid + GELU(hid · W1ᵀ + b1) · W2ᵀ + b2)   [B·Q, I] → [B·Q, H]
            try linear("\(p).ffn.fc1", hid, rows: M, in: H, out: I, into: ffn)
            Ops.gelu(ffn, count: M * I, on: context)
            try linear("\(p).ffn.fc2", ffn, rows: M, in: I, out: H, into: q)
            Ops.add(hid, q, count: M * H, on: context)
            try layerNorm("\(p).ffn.ln", hid, rows: M)
        }
        // last_hidden_state (no pooler).
        return Array(UnsafeBufferPointer(start: hid, count: M * H))
    }

    private func checkShapes() throws(InferenceError) {
        let c = config, H = c.hidden
        _ = try weights.tensor(queryTokens.name, shape: [1, c.queries, H])
        for n in ["weight", "bias"] { _ = try weights.tensor(prefix["embeddings.ln.\(n)"], shape: [H]) }
        func linear(_ name: String, _ out: Int, _ inp: Int) throws(InferenceError) {
            _ = try weights.tensor("\(name).weight", shape: [out, inp])
            _ = try weights.tensor("\(name).bias", shape: [out])
        }
        func norm(_ name: String) throws(InferenceError) {
            _ = try weights.tensor("\(name).weight", shape: [H])
            _ = try weights.tensor("\(name).bias", shape: [H])
        }
        for l in 0..<c.layers {
            let p = prefix["layers.\(l)"]
            for n in ["q", "k", "v", "out"] { try linear("\(p).self_attn.\(n)", H, H) }
            try norm("\(p).self_attn.ln")
            if c.hasCrossAttention(layer: l) {
                try linear("\(p).cross_attn.q", H, H)
                try linear("\(p).cross_attn.k", H, c.encoderWidth)
                try linear("\(p).cross_attn.v", H, c.encoderWidth)
                try linear("\(p).cross_attn.out", H, H)
                try norm("\(p).cross_attn.ln")
            }
            try linear("\(p).ffn.fc1", c.intermediate, H)
            try linear("\(p).ffn.fc2", H, c.intermediate)
            try norm("\(p).ffn.ln")
        }
    }
}
