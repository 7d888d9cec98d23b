import Foundation
import VLCore

/// ImageBind-huge's audio tower as `ImageBindModel.get_audio_feature` runs it (spec §3.5), f32 on
/// the CPU, read top to bottom.
///
/// Sizes at the real config: mel 128 × 204 frames, kernel 16, stride 10 → 12 × 19 = 228 patches + cls
/// = N = 229 tokens, W = 768, 12 blocks, 12 heads × 64, MLP 3072, out_dim 1024. The attention is
/// `nn.MultiheadAttention` with `add_bias_kv`: each sequence attends over its N keys plus one learned
/// key/value pair (N + 1 = 230 keys for 229 queries). All S clips of a call go through every GEMM
/// together (M = S·N rows).
///
/// Cost per clip: ≈ 2·229·(4W² + 2·W·MLP)·12 + attention ≈ 41 GFLOP at the real size (8 clips ≈ 0.33
/// TFLOP). Memory: activations ≈ S·N·(W + W + 3W + 2W + MLP)·4 bytes (S = 8: 56 MB) + one weight
/// matrix of scratch, in a `RunState`. The model is immutable and shared.
public struct ImageBindAudio: Sendable {
    public let config: ImageBindAudioConfig
    let weights: Weights
    let prefix: TensorPrefix

    /// The activations of one run, reused by its later calls with the same or fewer clips.
    public final class RunState: @unchecked Sendable {
        let x = FloatBuffer()  // [S·N, W]      the residual stream
        let h = FloatBuffer()  // [S·N, W]      normed input / attention output
        let qkv = FloatBuffer()  // [S·N, 3W]
        let k = FloatBuffer()  // [S·(N+1), W]  keys with bias_k appended to each clip's sequence
        let v = FloatBuffer()  // [S·(N+1), W]  values with bias_v appended
        let tmp = FloatBuffer()  // [S·N, max(W, MLP)]  patch tokens, projection outputs, the MLP hidden layer
        let cols = FloatBuffer()  // [S·P, k·k]    im2col patches
        let scores = FloatBuffer()  // attention scores, one N×(N+1) per worker
        let scratch = FloatBuffer()  // one weight matrix converted to f32
        public init() {}
    }

    public init(weights: Weights, prefix: TensorPrefix = .audioEncoder) throws(InferenceError) {
        self.weights = weights
        self.prefix = prefix
        config = try ImageBindAudioConfig(weights)
        try checkShapes()
    }

    /// mel [S, 1, mel, frames] (normalized log-mel clips) → the head's CLS token [S, W]: stem, cls +
    /// positions, the blocks, the head's LayerNorm on token 0 (the official `audio_feature`).
    public func forward(
        mel: UnsafeBufferPointer<Float>, clips s: Int, state: RunState, on context: ExecutionContext
    ) throws(InferenceError) -> [Float] {
        let c = config
        let (F, T, kk, st, W, N) = (c.melBins, c.targetLength, c.kernel, c.stride, c.width, c.tokens)
        let (GH, GW) = (c.gridHeight, c.gridWidth), P = GH * GW
        guard s > 0, mel.count == s * F * T else {
            throw .inputShapeMismatch(stage: StageName.inputMel.rawValue, expected: [s, 1, F, T], count: mel.count)
        }
        let M = s * N, KV = N + 1
        let x = state.x.reserve(M * W), h = state.h.reserve(M * W), qkv = state.qkv.reserve(M * 3 * W)
        let k = state.k.reserve(s * KV * W), v = state.v.reserve(s * KV * W)
        let tmp = state.tmp.reserve(M * max(W, c.mlp))
        let scratch = state.scratch, scores = state.scores

        // 1. Stem: Conv2d(1→W, kernel kk, stride st, no bias) as im2col + GEMM, patches row-major over
        //    (mel, time): cols[s·P + gy·GW + gx, ky·kk + kx] = mel[s, 0, gy·st + ky, gx·st + kx]
        let K = kk * kk
        let cols = state.cols.reserve(s * P * K)
        let src = mel.baseAddress!
        for clip in 0..<s {
            for gy in 0..<GH {
                for gx in 0..<GW {
                    let row = cols + (clip * P + gy * GW + gx) * K
                    for ky in 0..<kk {
                        (row + ky * kk).update(from: src + (clip * F + gy * st + ky) * T + gx * st, count: kk)
                    }
                }
            }
        }
        //    tmp = LN_stem(cols · Wstemᵀ)                              [S·P, W]  (eps 1e-5, patch tokens only)
        let stemW = try weights.matrix(prefix["patch_embed.weight"], shape: [W, 1, kk, kk], into: scratch, on: context)
        Ops.linear(cols, rows: s * P, in: K, weight: stemW, bias: nil, out: W, into: tmp, on: context)
        Ops.layerNorm(
            tmp, rows: s * P, dim: W, weight: try weights.vector(prefix["patch_norm.weight"], shape: [W]),
            bias: try weights.vector(prefix["patch_norm.bias"], shape: [W]), eps: c.stemLNEps, into: tmp, on: context)

        // 2. x[s] = [cls; patch tokens] + pos                          [S·N, W]
        let cls = try weights.vector(prefix["cls_token"], shape: [1, 1, W])
        let pos = try weights.vector(prefix["pos_embed"], shape: [1, N, W])
        for clip in 0..<s {
            (x + clip * N * W).update(from: cls, count: W)
            (x + (clip * N + 1) * W).update(from: tmp + clip * P * W, count: P * W)
            Ops.add(x + clip * N * W, pos, count: N * W, on: context)
        }

        // 3. Blocks: x = x + MHA(LN1(x)); x = x + MLP(LN2(x)).
        let attnShape = Ops.AttentionShape(batches: s, queries: N, keys: KV, heads: c.heads, headDim: c.headDim)
        for l in 0..<c.depth {
            let b = prefix["blocks.\(l)"]
            // h = LN1(x)                                              [M, W]
            Ops.layerNorm(
                x, rows: M, dim: W, weight: try weights.vector("\(b).norm1.weight", shape: [W]),
                bias: try weights.vector("\(b).norm1.bias", shape: [W]), eps: c.lnEps, into: h, on: context)
            // qkv = h · W_inᵀ + b_in   (row blocks q, k, v)            [M, 3W]
            Ops.linear(
                h, rows: M, in: W, weight: try weights.matrix("\(b).attn.in_proj.weight", rows: 3 * W, cols: W, into: scratch, on: context),
                bias: try weights.vector("\(b).attn.in_proj.bias", shape: [3 * W]), out: 3 * W, into: qkv, on: context)
            // k[s] = [k rows of clip s; bias_k], v[s] = [v rows; bias_v]   [S·(N+1), W]
            let biasK = try weights.vector("\(b).attn.bias_k", shape: [1, 1, W])
            let biasV = try weights.vector("\(b).attn.bias_v", shape: [1, 1, W])
            for clip in 0..<s {
                for n in 0..<N {
                    let from = qkv + (clip * N + n) * 3 * W
                    (k + (clip * KV + n) * W).update(from: from + W, count: W)
                    (v + (clip * KV + n) * W).update(from: from + 2 * W, count: W)
                }
                (k + (clip * KV + N) * W).update(from: biasK, count: W)
                (v + (clip * KV + N) * W).update(from: biasV, count: W)
            }
            // h = softmax(q·kᵀ/√dh)·v per clip and head, over N + 1 keys   [M, W]
            Ops.attention(
                q: qkv, qStride: 3 * W, k: k, kStride: W, v: v, vStride: W,
                out: h, outStride: W, shape: attnShape, scratch: scores, on: context)
            // x += h · W_outᵀ + b_out                                 [M, W]
            Ops.linear(
                h, rows: M, in: W, weight: try weights.matrix("\(b).attn.out.weight", rows: W, cols: W, into: scratch, on: context),
                bias: try weights.vector("\(b).attn.out.bias", shape: [W]), out: W, into: tmp, on: context)
            Ops.add(x, tmp, count: M * W, on: context)
            // x += MLP(LN2(x))                                       [M, W]
            try weights.preNormMLP(
                block: b, x: x, rows: M, width: W, hidden: c.mlp, eps: c.lnEps, h: h, hiddenBuffer: tmp, scratch: scratch, on: context)
        }

        // 4. Head: LayerNorm (eps 1e-6) of token 0 of each clip       [S, W]
        var out = [Float](repeating: 0, count: s * W)
        let headW = try weights.vector(prefix["head.ln.weight"], shape: [W])
        let headB = try weights.vector(prefix["head.ln.bias"], shape: [W])
        out.withUnsafeMutableBufferPointer { o in
            for clip in 0..<s { (o.baseAddress! + clip * W).update(from: x + clip * N * W, count: W) }
            Ops.layerNorm(o.baseAddress!, rows: s, dim: W, weight: headW, bias: headB, eps: c.headLNEps, into: o.baseAddress!, on: context)
        }
        return out
    }

    /// The head's projection and the postprocessor: cls [S, W] → Linear (no bias) → L2-normalize
    /// (eps 1e-12) → × min(exp(log_logit_scale), 100) → [S, out_dim].
    public func embed(cls: [Float], state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        let (W, D) = (config.width, config.outDim)
        guard !cls.isEmpty, cls.count % W == 0 else {
            throw .inputShapeMismatch(stage: StageName.audioEncoderOut.rawValue, expected: [config.clips, W], count: cls.count)
        }
        let s = cls.count / W
        var out = [Float](repeating: 0, count: s * D)
        let w = try weights.matrix(prefix["head.proj.weight"], rows: D, cols: W, into: state.scratch, on: context)
        let scale = min(expf(try weights.vector(prefix["log_logit_scale"], shape: []).pointee), Self.maxLogitScale)
        cls.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                Ops.linear(x.baseAddress!, rows: s, in: W, weight: w, bias: nil, out: D, into: y.baseAddress!, on: context)
            }
        }
        for clip in 0..<s {
            let row = out[clip * D..<(clip + 1) * D]
            let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            let factor = scale / max(norm, Self.normalizeEps)
            for i in row.indices { out[i] *= factor }
        }
        return out
    }

    /// `LearnableLogitScaling.max_logit_scale` and `F.normalize`'s eps.
    static let maxLogitScale: Float = 100
    static let normalizeEps: Float = 1e-12

    /// Every tensor the forward pass reads, with its shape: a wrong file fails here, not mid-run.
    private func checkShapes() throws(InferenceError) {
        let c = config, W = c.width
        _ = try weights.tensor(prefix["cls_token"], shape: [1, 1, W])
        _ = try weights.tensor(prefix["pos_embed"], shape: [1, c.tokens, W])
        _ = try weights.tensor(prefix["patch_embed.weight"], shape: [W, 1, c.kernel, c.kernel])
        for n in ["patch_norm.weight", "patch_norm.bias", "head.ln.weight", "head.ln.bias"] { _ = try weights.tensor(prefix[n], shape: [W]) }
        _ = try weights.tensor(prefix["head.proj.weight"], shape: [c.outDim, W])
        _ = try weights.tensor(prefix["log_logit_scale"], shape: [])
        for l in 0..<c.depth {
            let b = prefix["blocks.\(l)"]
            for n in ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "attn.out.bias", "mlp.fc2.bias"] {
                _ = try weights.tensor("\(b).\(n)", shape: [W])
            }
            _ = try weights.tensor("\(b).attn.in_proj.weight", shape: [3 * W, W])
            _ = try weights.tensor("\(b).attn.in_proj.bias", shape: [3 * W])
            _ = try weights.tensor("\(b).attn.bias_k", shape: [1, 1, W])
            _ = try weights.tensor("\(b).attn.bias_v", shape: [1, 1, W])
            _ = try weights.tensor("\(b).attn.out.weight", shape: [W, W])
            _ = try weights.tensor("\(b).mlp.fc1.weight", shape: [c.mlp, W])
            _ = try weights.tensor("\(b).mlp.fc1.bias", shape: [c.mlp])
            _ = try weights.tensor("\(b).mlp.fc2.weight", shape: [W, c.mlp])
        }
    }
}
