import CBLAS
import CVLKernels
import Foundation
import VLCore

/// The LLaMA decoder as Video-LLaMA runs it (spec §5.1), f32 on the CPU, read top to bottom:
///
/// ```
/// input embeddings [L, d]  (token rows of llm.embed_tokens, or video/audio blocks spliced between them)
///   → L × { h = x + Attn(RMSNorm(x)) ; x = h + MLP(RMSNorm(h)) }   causal, RoPE, KV cache
///   → RMSNorm → lm_head                                            logits [L, V] (or the last row)
/// ```
///
/// The decoder is immutable and shared; each run owns a `RunState` holding its KV cache, so a later
/// call continues the sequence (positions continue at `state.length`) and `truncate(to:)` rewinds
/// it to a common prefix. Weights are read from the mapping in their stored type (`Weights.linear`):
/// one-token steps run fused GEMV kernels (block weights against 8-bit activation blocks, as ggml
/// does; F16/BF16 widened in registers), prefill converts tiles of 512 rows of a matrix and runs sgemm
/// on each (Q4_0 and Q8_0 on AVX-512 VNNI: integer products over 8-bit input blocks), so no weight
/// matrix is ever converted whole.
///
/// Cost per token: ≈ 2·(4d² + 3·d·I) + 2·d·V flops + 4·d·(position) for attention.
/// Memory: the mapped weights (Q4_0 matrices as their regrouped copy instead: the same bytes, anonymous
/// memory; `Weights+Regrouped.swift`) + the KV cache (2 · layers · capacity · d · 4 bytes; 7B at 2048
/// positions: 2 GiB) + activations ≈ L·(5d + 2I + V)·4 bytes + attention scores threads·L·(start+L)·4
/// bytes + prefill tiles threads · 512 · cols · 4 bytes (45 MB for two workers at 11008 columns) + for
/// Q4_0/Q8_0 prefill the input rounded to 8-bit blocks, L · cols · 1.25 bytes.
public struct LlamaDecoder: Sendable {
    public let config: LlamaConfig
    public let weights: Weights

    /// One run's KV cache and activations. `length` positions of the cache are filled.
    public final class RunState: @unchecked Sendable {
        /// Positions the cache holds.
        public let capacity: Int
        public fileprivate(set) var length = 0
        fileprivate let keys: [FloatBuffer]  // per layer [capacity, d], RoPE applied
        fileprivate let values: [FloatBuffer]  // per layer [capacity, d]
        fileprivate let x = FloatBuffer()  // [L, d]  the residual stream
        fileprivate let h = FloatBuffer()  // [L, d]  normed input
        fileprivate let q = FloatBuffer()  // [L, d]
        fileprivate let att = FloatBuffer()  // [L, d]  attention output (heads merged)
        fileprivate let tmp = FloatBuffer()  // [L, d]  projection outputs
        fileprivate let gate = FloatBuffer()  // [L, I]
        fileprivate let up = FloatBuffer()  // [L, I]
        fileprivate let scores = FloatBuffer()  // one [L, length + L] score matrix per worker
        fileprivate let scratch = FloatBuffer()  // one weight matrix converted to f32

        init(capacity: Int, layers: Int, hidden: Int) {
            self.capacity = capacity
            keys = (0..<layers).map { _ in FloatBuffer(capacity: capacity * hidden) }
            values = (0..<layers).map { _ in FloatBuffer(capacity: capacity * hidden) }
        }

        /// Keeps the first `n` positions (a later call recomputes from there). O(1).
        public func truncate(to n: Int) { length = max(0, min(length, n)) }
    }

    /// Which logits `forward` returns.
    public enum LogitRows: Sendable { case all, last }

    /// Where `forward` can show its residual stream ([L, d], the new positions only): the input
    /// embeddings, and the output of each layer (transformers' `hidden_states[0]` and `[l + 1]`).
    public enum Stage: Sendable, Equatable { case inputEmbeds, layer(Int) }

    public init(weights: Weights) throws(InferenceError) {
        self.weights = weights
        config = try LlamaConfig(weights)
        try checkShapes()
    }

    /// A run whose cache holds `capacity` positions (default: the config's `max_position`).
    public func makeRunState(capacity: Int? = nil) -> RunState {
        RunState(capacity: max(1, capacity ?? config.maxPosition), layers: config.layers, hidden: config.hidden)
    }

    /// Token ids → their embedding rows [L, d] (one row converted per token, never the table).
    public func embed(_ ids: [Int]) throws(InferenceError) -> [Float] {
        let d = config.hidden
        var out = [Float](repeating: 0, count: ids.count * d)
        try out.withUnsafeMutableBufferPointer { (o) throws(InferenceError) in
            for (i, id) in ids.enumerated() {
                try weights.row(TensorPrefix.llmEmbedTokens["weight"], shape: [config.vocab, d], index: id, into: o.baseAddress! + i * d)
            }
        }
        return out
    }

    /// Appends `count` positions given as input embeddings [L, d] to the run's cache and returns
    /// the logits of every one of them ([L, V]) or of the last ([V]).
    public func forward(
        embeddings: [Float], count L: Int, state: RunState, logits rows: LogitRows = .all,
        on context: ExecutionContext, observe: ((Stage, UnsafeBufferPointer<Float>) -> Void)? = nil
    ) throws(InferenceError) -> [Float] {
        let c = config
        let (d, I, V, hd) = (c.hidden, c.intermediate, c.vocab, c.headDim)
        guard L > 0, embeddings.count == L * d else {
            throw .inputShapeMismatch(stage: StageName.llmLogits.rawValue, expected: [L, d], count: embeddings.count)
        }
        let start = state.length
        guard start + L <= state.capacity else { throw .contextFull(needed: start + L, capacity: state.capacity) }
        let x = state.x.reserve(L * d), h = state.h.reserve(L * d), q = state.q.reserve(L * d)
        let att = state.att.reserve(L * d), tmp = state.tmp.reserve(L * d)
        let gate = state.gate.reserve(L * I), up = state.up.reserve(L * I)
        embeddings.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: L * d) }
        observe?(.inputEmbeds, UnsafeBufferPointer(start: x, count: L * d))
        /// y[n, rows] = input[n, cols] · W(name)ᵀ; one-token steps read quantized blocks directly.
        func linear(
            _ name: String, _ input: UnsafePointer<Float>, rows n: Int, out: Int, in cols: Int,
            into y: UnsafeMutablePointer<Float>
        ) throws(InferenceError) {
            try weights.linear(name, rows: out, cols: cols, x: input, count: n, into: y, scratch: state.scratch, on: context)
        }
        func norm(_ name: String, _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) throws(InferenceError) {
            Self.rmsNorm(input, rows: rows, dim: d, weight: try weights.vector(name, shape: [d]), eps: c.normEps, into: output)
        }

        for l in 0..<c.layers {
            let p = TensorPrefix.llmLayers["\(l)"]
            let keys = state.keys[l].pointer + start * d, values = state.values[l].pointer + start * d
            // h = RMSNorm(x) · attn_norm                                   [L, d]
            try norm("\(p).attn_norm.weight", x, rows: L, into: h)
            // q = h·Wqᵀ; k, v = h·W{k,v}ᵀ written straight into the cache  [L, d]
            try weights.linears(
                [
                    .init(name: "\(p).attn.q.weight", rows: d, into: q), .init(name: "\(p).attn.k.weight", rows: d, into: keys),
                    .init(name: "\(p).attn.v.weight", rows: d, into: values),
                ],
                cols: d, x: h, count: L, scratch: state.scratch, on: context)
            // RoPE (rotate-half) on q and the new keys at positions start..<start+L
            Self.rotate(q, rows: L, firstPosition: start, heads: c.heads, headDim: hd, base: c.ropeBase)
            Self.rotate(keys, rows: L, firstPosition: start, heads: c.heads, headDim: hd, base: c.ropeBase)
            // att = softmax(q·Kᵀ/√hd + causal mask)·V over the cache's start+L positions, per head
            Self.causalAttention(
                q: q, keys: state.keys[l].pointer, values: state.values[l].pointer, rows: L,
                firstPosition: start, heads: c.heads, headDim: hd, out: att, scratch: state.scores, on: context)
            // x += att·Woᵀ
            try linear("\(p).attn.o.weight", att, rows: L, out: d, in: d, into: tmp)
            Ops.add(x, tmp, count: L * d, on: context)
            // h = RMSNorm(x) · ffn_norm;  x += down(SiLU(gate(h)) ⊙ up(h))  [L, I] → [L, d]
            try norm("\(p).ffn_norm.weight", x, rows: L, into: h)
            try weights.linears(
                [.init(name: "\(p).mlp.gate.weight", rows: I, into: gate), .init(name: "\(p).mlp.up.weight", rows: I, into: up)],
                cols: d, x: h, count: L, scratch: state.scratch, on: context)
            Self.siluProduct(gate, up, count: L * I)
            try linear("\(p).mlp.down.weight", gate, rows: L, out: d, in: I, into: tmp)
            Ops.add(x, tmp, count: L * d, on: context)
            observe?(.layer(l), UnsafeBufferPointer(start: x, count: L * d))
        }
        state.length = start + L

        // Final norm and lm_head, on every row or only the last.
        let first = rows == .all ? 0 : L - 1, n = L - first
        try norm(TensorPrefix.llmNorm["weight"], x + first * d, rows: n, into: h)
        var out = [Float](repeating: 0, count: n * V)
        try out.withUnsafeMutableBufferPointer { (o) throws(InferenceError) in
            try linear(TensorPrefix.llmHead["weight"], h, rows: n, out: V, in: d, into: o.baseAddress!)
        }
        return out
    }

    /// Greedy decoding after `prompt`: up to `maxNewTokens` argmax tokens, stopping before a stop id
    /// (which is not returned). The prompt is prefilled in one call, then one token per call.
    public func greedy(
        prompt: [Int], maxNewTokens: Int, stopIDs: Set<Int>, state: RunState,
        on context: ExecutionContext
    ) throws(InferenceError) -> [Int] {
        var next = Self.argmax(try forward(embeddings: try embed(prompt), count: prompt.count, state: state, logits: .last, on: context))
        var out: [Int] = []
        while out.count < maxNewTokens, !stopIDs.contains(next) {
            out.append(next)
            guard out.count < maxNewTokens else { break }
            next = Self.argmax(try forward(embeddings: try embed([next]), count: 1, state: state, logits: .last, on: context))
        }
        return out
    }

    /// The offset of the largest value from the start (the first on ties, as torch.argmax); works on
    /// a row sliced out of a logits matrix without copying it.
    @inlinable
    public static func argmax<Row: RandomAccessCollection>(_ logits: Row) -> Int where Row.Element == Float {
        var best = logits.startIndex
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return logits.distance(from: logits.startIndex, to: best)
    }

    // MARK: - Kernels

    /// y = x · rsqrt(mean(x²) + eps) · weight per row (mean in double: the reference takes it in fp32
    /// over at most 8192 terms, well inside f32 parity). y may equal x.
    static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, eps: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let row = x + r * dim, out = y + r * dim
            var sum = 0.0
            for j in 0..<dim { sum += Double(row[j]) * Double(row[j]) }
            let scale = Float(1 / (sum / Double(dim) + Double(eps)).squareRoot())
            for j in 0..<dim { out[j] = weight[j] * (row[j] * scale) }
        }
    }

    /// HF rotate-half RoPE in place on `rows` rows of `heads · headDim` at positions
    /// firstPosition..<firstPosition+rows: (a, b) = (x[i], x[i + hd/2]) → (a·cos − b·sin, b·cos + a·sin)
    /// with angle = position · base^(−2i/hd), computed in f32 as torch does.
    static func rotate(_ x: UnsafeMutablePointer<Float>, rows: Int, firstPosition: Int, heads: Int, headDim hd: Int, base: Double) {
        let half = hd / 2
        let invFreq = (0..<half).map { i in 1 / Float(pow(base, Double(Float(2 * i) / Float(hd)))) }
        for r in 0..<rows {
            let position = Float(firstPosition + r)
            for i in 0..<half {
                let angle = position * invFreq[i]
                let (cosine, sine) = (cosf(angle), sinf(angle))
                for head in 0..<heads {
                    let v = x + r * heads * hd + head * hd
                    let (a, b) = (v[i], v[i + half])
                    v[i] = a * cosine - b * sine
                    v[i + half] = b * cosine + a * sine
                }
            }
        }
    }

    /// Causal attention of `rows` new queries (positions firstPosition…) over the cache's first
    /// firstPosition + rows keys and values, head by head (heads split between the workers):
    /// S = Q_h·K_hᵀ/√hd, row i masked past position firstPosition + i, softmax, O_h = S·V_h.
    static func causalAttention(
        q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows L: Int,
        firstPosition start: Int, heads: Int, headDim hd: Int, out: UnsafeMutablePointer<Float>,
        scratch: FloatBuffer, on context: ExecutionContext
    ) {
        let d = heads * hd, n = start + L
        let workers = max(1, min(context.threads, heads))
        let scores = SharedPointer(scratch.reserve(workers * L * n))
        let qs = SharedPointer(q), ks = SharedPointer(keys), vs = SharedPointer(values), os = SharedPointer(out)
        let alpha = 1 / Float(hd).squareRoot()
        _ = BLAS.singleThreaded
        context.run(workers) { w in
            let s = scores.pointer + w * L * n
            for head in heads * w / workers..<heads * (w + 1) / workers {
                let off = head * hd
                if L == 1 {
                    // One query (decoding): two matrix-vector products; sgemm would pack K and V first.
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(hd), alpha, ks.pointer + off, Int32(d), qs.pointer + off, 1, 0, s, 1)
                    vl_softmax_rows_f32(s, 1, n)
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(hd), 1, vs.pointer + off, Int32(d), s, 1, 0, os.pointer + off, 1)
                    continue
                }
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(n), Int32(hd),
                    alpha, qs.pointer + off, Int32(d), ks.pointer + off, Int32(d), 0, s, Int32(n))
                for i in 0..<L {
                    let visible = start + i + 1
                    vl_softmax_rows_f32(s + i * n, 1, visible)
                    (s + i * n + visible).update(repeating: 0, count: n - visible)
                }
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(L), Int32(hd), Int32(n),
                    1, s, Int32(n), vs.pointer + off, Int32(d), 0, os.pointer + off, Int32(d))
            }
        }
    }

    /// gate = SiLU(gate) ⊙ up, in place.
    static func siluProduct(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n { gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
    }

    /// Every tensor the forward pass reads, with its shape.
    private func checkShapes() throws(InferenceError) {
        let c = config, d = c.hidden
        _ = try weights.tensor(TensorPrefix.llmEmbedTokens["weight"], shape: [c.vocab, d])
        _ = try weights.tensor(TensorPrefix.llmNorm["weight"], shape: [d])
        _ = try weights.tensor(TensorPrefix.llmHead["weight"], shape: [c.vocab, d])
        for l in 0..<c.layers {
            let p = TensorPrefix.llmLayers["\(l)"]
            for n in ["q", "k", "v", "o"] { _ = try weights.tensor("\(p).attn.\(n).weight", shape: [d, d]) }
            _ = try weights.tensor("\(p).mlp.gate.weight", shape: [c.intermediate, d])
            _ = try weights.tensor("\(p).mlp.up.weight", shape: [c.intermediate, d])
            _ = try weights.tensor("\(p).mlp.down.weight", shape: [d, c.intermediate])
            _ = try weights.tensor("\(p).attn_norm.weight", shape: [d])
            _ = try weights.tensor("\(p).ffn_norm.weight", shape: [d])
        }
    }
}
