import VLCore

/// EVA ViT-g/14 as BLIP-2 / Video-LLaMA run it (spec §3.1), f32 on the CPU, read top to bottom.
///
/// Sizes at the real config: image 224, patch 14 → N = 257 tokens, W = 1408, 39 blocks,
/// 16 heads × 88, MLP 6144, LayerNorm eps 1e-6. All T frames of a call go through every GEMM
/// together (M = T·257 rows), so the weights are read (and, when not f32, converted) once per call.
///
/// Cost per frame: ≈ 2·257·(3W² + W² + 2·W·MLP)·39 + attention ≈ 0.53 TFLOP at ViT-g size.
/// Memory: activations ≈ T·N·(3W + W + W + MLP + W)·4 bytes (T = 8: 106 MB) + one weight matrix of
/// scratch, all in a `RunState`. The model itself is immutable and shared: many runs (each with its
/// own state) may use one `EVAViT` over one mapped file at once.
public struct EVAViT: Sendable {
    public let config: EVAConfig
    let weights: Weights
    let prefix: TensorPrefix

    /// The activations of one run, reused by its later calls with the same or fewer frames.
    public final class RunState: @unchecked Sendable {
        let x = FloatBuffer()  // [T·N, W]   the residual stream
        let h = FloatBuffer()  // [T·N, W]   normed input / attention output
        let qkv = FloatBuffer()  // [T·N, 3W]
        let tmp = FloatBuffer()  // [T·N, max(W, MLP)]  projection outputs and the MLP hidden layer
        let cols = FloatBuffer()  // [T·P, 3·p·p]  im2col patches
        let scores = FloatBuffer()  // attention scores, one N×N per worker
        let scratch = FloatBuffer()  // one weight matrix converted to f32
        let qkvBias = FloatBuffer()  // [3W] = (q_bias, 0, v_bias)
        public init() {}
    }

    public init(weights: Weights, prefix: TensorPrefix = .visionEncoder) throws(InferenceError) {
        self.weights = weights
        self.prefix = prefix
        config = try EVAConfig(weights)
        try checkShapes()
    }

    /// frames [T, 3, S, S] (CLIP-normalized, S = image_size) → tokens [T, N, W] (after the last block,
    /// no final norm).
    public func forward(
        frames: UnsafeBufferPointer<Float>, count t: Int, state: RunState,
        on context: ExecutionContext
    ) throws(InferenceError) -> [Float] {
        let c = config
        let (S, p, W, N, P) = (c.imageSize, c.patchSize, c.width, c.tokens, c.grid * c.grid)
        guard t > 0, frames.count == t * 3 * S * S else {
            throw .inputShapeMismatch(stage: StageName.inputFrames.rawValue, expected: [t, 3, S, S], count: frames.count)
        }
        let M = t * N  // rows of every GEMM
        let x = state.x.reserve(M * W), h = state.h.reserve(M * W), qkv = state.qkv.reserve(M * 3 * W)
        let tmp = state.tmp.reserve(M * max(W, c.mlp))
        let scratch = state.scratch, scores = state.scores

        // 1. Patch embedding: Conv2d(3→W, kernel p, stride p) as im2col + GEMM.
        //    cols[t·P + (gy·grid + gx), ch·p·p + ky·p + kx] = frame[t, ch, gy·p + ky, gx·p + kx]
        let K = 3 * p * p
        let cols = state.cols.reserve(t * P * K)
        let src = frames.baseAddress!
        for f in 0..<t {
            for gy in 0..<c.grid {
                for gx in 0..<c.grid {
                    let row = cols + (f * P + gy * c.grid + gx) * K
                    for ch in 0..<3 {
                        for ky in 0..<p {
                            let from = src + ((f * 3 + ch) * S + gy * p + ky) * S + gx * p
                            (row + (ch * p + ky) * p).update(from: from, count: p)
                        }
                    }
                }
            }
        }
        //    x[t, 1 + patch, :] = cols · Wpatchᵀ + b   ([P, K] · [K, W] per frame, written after the cls row)
        let patchW = try weights.matrix(prefix["patch_embed.weight"], shape: [W, 3, p, p], into: scratch, on: context)
        let patchB = try weights.vector(prefix["patch_embed.bias"], shape: [W])
        for f in 0..<t {
            Ops.linear(cols + f * P * K, rows: P, in: K, weight: patchW, bias: patchB, out: W, into: x + (f * N + 1) * W, on: context)
        }

        // 2. Prepend cls, add absolute positions: x[t, n, :] += pos[n, :].
        let cls = try weights.vector(prefix["cls_token"], shape: [1, 1, W])
        let pos = try weights.vector(prefix["pos_embed"], shape: [1, N, W])
        for f in 0..<t {
            (x + f * N * W).update(from: cls, count: W)
            Ops.add(x + f * N * W, pos, count: N * W, on: context)
        }

        // 3. Blocks: x = x + Attn(LN1(x)); x = x + MLP(LN2(x)).
        let bias = state.qkvBias.reserve(3 * W)
        let attnShape = Ops.AttentionShape(batches: t, queries: N, keys: N, heads: c.heads, headDim: c.headDim)
        for l in 0..<c.depth {
            let b = prefix["blocks.\(l)"]
            // h = LN1(x)                                              [M, W]
            Ops.layerNorm(
                x, rows: M, dim: W, weight: try weights.vector("\(b).norm1.weight", shape: [W]),
                bias: try weights.vector("\(b).norm1.bias", shape: [W]), eps: c.lnEps, into: h, on: context)
            // qkv = h · Wqkvᵀ + (q_bias, 0, v_bias)                   [M, 3W]  (the k bias is structurally zero)
            bias.update(from: try weights.vector("\(b).attn.q_bias", shape: [W]), count: W)
            (bias + W).update(repeating: 0, count: W)
            (bias + 2 * W).update(from: try weights.vector("\(b).attn.v_bias", shape: [W]), count: W)
            Ops.linear(
                h, rows: M, in: W, weight: try weights.matrix("\(b).attn.qkv.weight", rows: 3 * W, cols: W, into: scratch, on: context),
                bias: bias, out: 3 * W, into: qkv, on: context)
            // h = softmax(q·kᵀ/√88)·v per frame and head               [M, W]  (heads merged h·dh + j)
            Ops.attention(
                q: qkv, qStride: 3 * W, k: qkv + W, kStride: 3 * W, v: qkv + 2 * W, vStride: 3 * W,
                out: h, outStride: W, shape: attnShape, scratch: scores, on: context)
            // x += h · Wprojᵀ + b                                     [M, W]
            Ops.linear(
                h, rows: M, in: W, weight: try weights.matrix("\(b).attn.proj.weight", rows: W, cols: W, into: scratch, on: context),
                bias: try weights.vector("\(b).attn.proj.bias", shape: [W]), out: W, into: tmp, on: context)
            Ops.add(x, tmp, count: M * W, on: context)
            // x += MLP(LN2(x))                                       [M, W]
            try weights.preNormMLP(
                block: b, x: x, rows: M, width: W, hidden: c.mlp, eps: c.lnEps, h: h, hiddenBuffer: tmp, scratch: scratch, on: context)
        }

        // 4. All N tokens of the last block; no final norm (ln_vision follows, in VideoBranch).
        return Array(UnsafeBufferPointer(start: x, count: M * W))
    }

    /// Every tensor the forward pass reads, with its shape: a wrong file fails here, not mid-run.
    private func checkShapes() throws(InferenceError) {
        let c = config, W = c.width
        _ = try weights.tensor(prefix["cls_token"], shape: [1, 1, W])
        _ = try weights.tensor(prefix["pos_embed"], shape: [1, c.tokens, W])
        _ = try weights.tensor(prefix["patch_embed.weight"], shape: [W, 3, c.patchSize, c.patchSize])
        _ = try weights.tensor(prefix["patch_embed.bias"], shape: [W])
        for l in 0..<c.depth {
            let b = prefix["blocks.\(l)"]
            for n in ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "attn.q_bias", "attn.v_bias", "attn.proj.bias", "mlp.fc2.bias"] {
                _ = try weights.tensor("\(b).\(n)", shape: [W])
            }
            _ = try weights.tensor("\(b).attn.qkv.weight", shape: [3 * W, W])
            _ = try weights.tensor("\(b).attn.proj.weight", shape: [W, W])
            _ = try weights.tensor("\(b).mlp.fc1.weight", shape: [c.mlp, W])
            _ = try weights.tensor("\(b).mlp.fc1.bias", shape: [c.mlp])
            _ = try weights.tensor("\(b).mlp.fc2.weight", shape: [W, c.mlp])
        }
    }
}
