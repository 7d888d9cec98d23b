import CBLAS
import CVLKernels
import Foundation
import VLCore

/// OpenBLAS always runs single-threaded inside VLPack's own workers (`ExecutionContext.threads`).
///
/// Why: OpenBLAS's thread pool busy-waits (`sched_yield`) between calls; on a small machine its spinning
/// workers took the cores from the element-wise loops and the attention that run between GEMMs (~9 %
/// of a ViT-g forward in `__schedule`/`sched_yield`). Splitting each GEMM's output columns between our
/// workers reaches the same rate as OpenBLAS's own threading (measured 207–214 GFLOP/s either way at the
/// ViT-g shapes on 2 cores) without the contention.
enum BLAS {
    /// Evaluated once, before the first GEMM.
    static let singleThreaded: Void = openblas_set_num_threads(1)
}

/// The f32 building blocks of every model, row-major throughout. `x[M, K]` means M rows of K floats.
/// Each op states its cost; the GEMMs dominate (2·M·N·K flops each).
public enum Ops {
    /// y[M, N] = x[M, K] · W[N, K]ᵀ + b[N]   (torch's `Linear`: weight rows are output features).
    /// The bias (when present) is written first and the GEMM accumulates onto it (β = 1).
    /// Cost: 2·M·N·K flops; the workers each run a single-threaded sgemm on their own slice of the N
    /// output columns (slices of whole 16-column panels). `y` must not overlap `x`.
    public static func linear(
        _ x: UnsafePointer<Float>, rows m: Int, in k: Int,
        weight w: UnsafePointer<Float>, bias b: UnsafePointer<Float>?, out n: Int,
        into y: UnsafeMutablePointer<Float>, on context: ExecutionContext
    ) {
        guard m > 0, n > 0 else { return }
        _ = BLAS.singleThreaded
        let xs = SharedPointer(x), ws = SharedPointer(w), ys = SharedPointer(y), bs = b.map { SharedPointer($0) }
        let panels = (n + 15) / 16
        let parts = 2 * m * n * k < minParallelFlops ? 1 : min(context.threads, panels)
        context.run(parts) { part in
            let first = min(n, panels * part / parts * 16), last = min(n, panels * (part + 1) / parts * 16)
            guard last > first else { return }
            let out = ys.pointer + first
            if let bs {
                for r in 0..<m { (out + r * n).update(from: bs.pointer + first, count: last - first) }
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(last - first), Int32(k),
                1, xs.pointer, Int32(k), ws.pointer + first * k, Int32(k), bs == nil ? 0 : 1, out, Int32(n))
        }
    }

    /// Below this many flops a GEMM runs on one worker: a dispatch costs ~10 µs, 1 MFLOP ~10 µs.
    static let minParallelFlops = 1 << 20

    /// LayerNorm over the last dimension with the site's `eps` (EVA 1e-6, ln_vision 1e-5, BERT 1e-12).
    /// `y` may equal `x`. Cost: ~5 passes over M·D floats, both cores.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, rows m: Int, dim d: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, eps: Float, into y: UnsafeMutablePointer<Float>,
        on context: ExecutionContext
    ) {
        let xs = SharedPointer(x), ys = SharedPointer(y), ws = SharedPointer(weight), bs = SharedPointer(bias)
        context.chunks(m, grain: 16) { r in
            vl_layer_norm_f32(xs.pointer + r.lowerBound * d, ys.pointer + r.lowerBound * d, r.count, d, ws.pointer, bs.pointer, eps)
        }
    }

    /// In place: x = GELU(x) with the exact erf form (torch `nn.GELU()`, BERT "gelu"). Both cores.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count n: Int, on context: ExecutionContext) {
        let xs = SharedPointer(x)
        context.chunks(n, grain: 1 << 14) { r in vl_gelu_erf_f32(xs.pointer + r.lowerBound, r.count) }
    }

    /// dst += src (residual connections). Both cores for large arrays.
    public static func add(
        _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count n: Int,
        on context: ExecutionContext
    ) {
        let d = SharedPointer(dst), s = SharedPointer(src)
        context.chunks(n, grain: 1 << 16) { r in vl_add_f32(d.pointer + r.lowerBound, s.pointer + r.lowerBound, r.count) }
    }

    /// Geometry of one multi-head attention call over `batches` independent sequences.
    public struct AttentionShape: Sendable {
        public var batches: Int
        public var queries: Int
        public var keys: Int
        public var heads: Int
        public var headDim: Int
        public init(batches: Int, queries: Int, keys: Int, heads: Int, headDim: Int) {
            self.batches = batches; self.queries = queries; self.keys = keys; self.heads = heads; self.headDim = headDim
        }
    }

    /// Softmax attention without masks, heads laid out head-major inside each row (column h·dh + j),
    /// as in both EVA (`reshape(N, T, 3, H, dh)`) and BERT (`view(N, T, H, dh)`).
    ///
    /// For batch b and head h: S = (Q_bh · K_bhᵀ) · dh^−½ ; P = softmax(S) ; O_bh = P · V_bh.
    /// Rows of Q start every `qStride` floats (so Q/K/V can be column slices of a fused QKV buffer);
    /// sequence b's rows start at row b·queries (Q, O) and b·keys (K, V).
    /// The scale is applied as the GEMM's α: (αQ)Kᵀ (EVA) and α(QKᵀ) (BERT) differ by float rounding only.
    /// Cost: 4·B·H·Nq·Nk·dh flops + B·H·Nq·Nk exp; the (b, h) pairs are split between the workers.
    /// `scratch` holds one Nq×Nk score matrix per worker.
    public static func attention(
        q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, kStride: Int,
        v: UnsafePointer<Float>, vStride: Int, out o: UnsafeMutablePointer<Float>, outStride: Int,
        shape s: AttentionShape, scratch: FloatBuffer, on context: ExecutionContext
    ) {
        let pairs = s.batches * s.heads
        let workers = max(1, min(context.threads, pairs))
        let scoreSize = s.queries * s.keys
        let scores = SharedPointer(scratch.reserve(workers * scoreSize))
        let qs = SharedPointer(q), ks = SharedPointer(k), vs = SharedPointer(v), os = SharedPointer(o)
        let alpha = 1 / Float(s.headDim).squareRoot()
        _ = BLAS.singleThreaded
        context.run(workers) { w in
            let sc = scores.pointer + w * scoreSize
            for pair in pairs * w / workers..<pairs * (w + 1) / workers {
                let b = pair / s.heads, h = pair % s.heads
                let qp = qs.pointer + b * s.queries * qStride + h * s.headDim
                let kp = ks.pointer + b * s.keys * kStride + h * s.headDim
                let vp = vs.pointer + b * s.keys * vStride + h * s.headDim
                let op = os.pointer + b * s.queries * outStride + h * s.headDim
                // S[Nq, Nk] = α · Q[Nq, dh] · K[Nk, dh]ᵀ
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(s.queries), Int32(s.keys), Int32(s.headDim),
                    alpha, qp, Int32(qStride), kp, Int32(kStride), 0, sc, Int32(s.keys))
                vl_softmax_rows_f32(sc, s.queries, s.keys)
                // O[Nq, dh] = P[Nq, Nk] · V[Nk, dh]
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(s.queries), Int32(s.headDim), Int32(s.keys),
                    1, sc, Int32(s.keys), vp, Int32(vStride), 0, op, Int32(outStride))
            }
        }
    }
}

/// Straightforward double-precision versions of the ops, for tests (held equal to `Ops` within f32
/// rounding). O(n) loops, no BLAS; slow by design.
public enum ReferenceOps {
    public static func linear(_ x: [Float], rows m: Int, in k: Int, weight w: [Float], bias b: [Float]?, out n: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for r in 0..<m {
            for c in 0..<n {
                var acc = Double(b?[c] ?? 0)
                for i in 0..<k { acc += Double(x[r * k + i]) * Double(w[c * k + i]) }
                y[r * n + c] = Float(acc)
            }
        }
        return y
    }

    public static func layerNorm(_ x: [Float], dim d: Int, weight: [Float], bias: [Float], eps: Float) -> [Float] {
        var y = x
        for r in 0..<(x.count / d) {
            let row = x[r * d..<(r + 1) * d].map(Double.init)
            let mean = row.reduce(0, +) / Double(d)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(d)
            for j in 0..<d {
                y[r * d + j] = Float((row[j] - mean) / (variance + Double(eps)).squareRoot() * Double(weight[j]) + Double(bias[j]))
            }
        }
        return y
    }

    public static func gelu(_ x: [Float]) -> [Float] {
        x.map { v in Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }
    }

    public static func softmaxRows(_ x: [Float], cols: Int) -> [Float] {
        var y = x
        for r in 0..<(x.count / cols) {
            let row = x[r * cols..<(r + 1) * cols].map(Double.init)
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<cols { y[r * cols + j] = Float(e[j] / s) }
        }
        return y
    }

    /// One sequence, all heads: q [Nq, H·dh], k/v [Nk, H·dh] → [Nq, H·dh].
    public static func attention(q: [Float], k: [Float], v: [Float], queries nq: Int, keys nk: Int, heads: Int, headDim dh: Int) -> [Float] {
        let width = heads * dh
        var out = [Float](repeating: 0, count: nq * width)
        for h in 0..<heads {
            for i in 0..<nq {
                var s = [Double](repeating: 0, count: nk)
                for j in 0..<nk {
                    var acc = 0.0
                    for c in 0..<dh { acc += Double(q[i * width + h * dh + c]) * Double(k[j * width + h * dh + c]) }
                    s[j] = acc / Double(dh).squareRoot()
                }
                let m = s.max()!
                let e = s.map { exp($0 - m) }
                let total = e.reduce(0, +)
                for c in 0..<dh {
                    var acc = 0.0
                    for j in 0..<nk { acc += e[j] / total * Double(v[j * width + h * dh + c]) }
                    out[i * width + h * dh + c] = Float(acc)
                }
            }
        }
        return out
    }
}

/// dst[r, :] += row for `rows` rows (a broadcast add, e.g. one frame's position on its tokens).
func vl_add_rows(_ dst: UnsafeMutablePointer<Float>, _ row: UnsafePointer<Float>, rows: Int, cols: Int) {
    vl_add_rows_f32(dst, row, rows, cols)
}
