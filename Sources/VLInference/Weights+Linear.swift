import CBLAS
import CVLKernels
import VLCore
import VLPackFormat

extension Weights {
    /// y[r] = W[r, :]·x for rows [begin, end), reading the stored bytes of W directly.
    typealias VectorKernel = @Sendable (_ w: UnsafeRawPointer, _ x: VectorInput, _ y: UnsafeMutablePointer<Float>, _ cols: Int, Range<Int>) -> Void

    /// The one-token input of a kernel: f32 for float weights, 8-bit blocks for block weights.
    struct VectorInput: @unchecked Sendable {
        let floats: UnsafePointer<Float>
        let quantized: UnsafePointer<vl_q8_activations>?
    }

    /// How the activations must be given to a storage's kernel: f32, or 8-bit blocks of `block` values.
    enum VectorInputKind: Equatable { case floats, quantized(block: Int) }

    /// The matrix-vector kernel of a storage type and the input it takes: the block formats multiply
    /// 8-bit activation blocks by their integer values (as ggml's vec_dot_*_q8_* do), F16 and BF16
    /// widen in registers and multiply in f32. nil: none (F32 is used in place by sgemm).
    static func vectorKernel(for storage: StorageType) -> (VectorKernel, VectorInputKind)? {
        typealias BlockKernel =
            @convention(c) (
                UnsafePointer<UInt8>?, UnsafePointer<vl_q8_activations>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64
            ) -> Void
        typealias HalfKernel = @convention(c) (UnsafePointer<UInt16>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64) -> Void
        func blocks(_ f: @escaping BlockKernel, activationBlock: Int = 32) -> (VectorKernel, VectorInputKind) {
            let kernel: VectorKernel = { w, x, y, cols, rows in
                f(w.assumingMemoryBound(to: UInt8.self), x.quantized, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
            }
            return (kernel, .quantized(block: activationBlock))
        }
        func halves(_ f: @escaping HalfKernel) -> (VectorKernel, VectorInputKind) {
            let kernel: VectorKernel = { w, x, y, cols, rows in
                f(w.assumingMemoryBound(to: UInt16.self), x.floats, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
            }
            return (kernel, .floats)
        }
        switch storage {
        case .blocks(.q8_0): return blocks(vl_gemv_q8_0_q8)
        case .blocks(.q4_0): return blocks(vl_gemv_q4_0_q8)
        case .blocks(.q4_1): return blocks(vl_gemv_q4_1_q8)
        case .blocks(.q4_k): return blocks(vl_gemv_q4_k_q8, activationBlock: 256)
        case .blocks(.q6_k): return blocks(vl_gemv_q6_k_q8, activationBlock: 256)
        case .plain(.f16): return halves(vl_gemv_f16)
        case .plain(.bf16): return halves(vl_gemv_bf16)
        default: return nil
        }
    }

    /// y[L, rows] = x[L, cols] · Wᵀ with W = `name` [rows, cols] (no bias).
    ///
    /// One input row (one-token decoding) over block, F16 or BF16 weights reads them straight from the
    /// mapping (`vectorKernel`): the weights are streamed once and nothing is converted into memory
    /// (rows split between the workers). For block weights x is first rounded to 8-bit blocks
    /// (O(cols), a few KB on the stack), so the result carries that rounding (|x̂ − x| ≤ d_x/2 per value)
    /// on top of the weights' own loss. Several rows over stored weights (prefill) convert W tile by
    /// tile and run sgemm per tile (`tiledLinear`), never the whole matrix; F32 is used in place. Cost: 2·L·rows·cols flops; the fused path reads
    /// rows·cols·bits/8 bytes of weights.
    public func linear(
        _ name: String, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int,
        into y: UnsafeMutablePointer<Float>, scratch: FloatBuffer, on context: ExecutionContext
    ) throws(InferenceError) {
        let t = try tensor(name, shape: [rows, cols])
        if L == 1, let (kernel, kind) = Self.vectorKernel(for: t.storage) {
            let stored = SharedPointer(UnsafeRawPointer(pack.bytes(of: t).buffer.baseAddress!))
            let output = SharedPointer(y)
            let parts = rows >= 256 ? min(context.threads, rows / 64) : 1
            func run(_ input: VectorInput) {
                context.run(parts) { part in
                    kernel(stored.pointer, input, output.pointer, cols, rows * part / parts..<rows * (part + 1) / parts)
                }
            }
            guard case .quantized(let block) = kind else { return run(VectorInput(floats: x, quantized: nil)) }
            // cols is a multiple of the weight block (the tensor's storage was validated against its
            // shape), and the activation block equals the weight block or 32.
            withUnsafeTemporaryAllocation(of: Int8.self, capacity: cols) { q in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: cols / block) { d in
                    withUnsafeTemporaryAllocation(of: Int16.self, capacity: cols / 16) { sums in
                        vl_quantize_q8_activations(x, Int64(cols), Int64(block), q.baseAddress, d.baseAddress, sums.baseAddress)
                        var activations = vl_q8_activations(q: q.baseAddress, d: d.baseAddress, sums: sums.baseAddress)
                        withUnsafePointer(to: &activations) { run(VectorInput(floats: x, quantized: $0)) }
                    }
                }
            }
            return
        }
        if L == 1 || t.storage == .plain(.f32) {
            let w = try matrix(name, rows: rows, cols: cols, into: scratch, on: context)
            return Ops.linear(x, rows: L, in: cols, weight: w, bias: nil, out: rows, into: y, on: context)
        }
        try tiledLinear(t, rows: rows, cols: cols, x: x, count: L, into: y, scratch: scratch, on: context)
    }

    /// Weight values converted per prefill tile and worker: 4 MiB of f32, so a tile is still in the
    /// cache when the sgemm that consumes it reads it, and the scratch stays a few tiles however large
    /// the matrix (the 7B lm_head as one f32 matrix would be 500 MB).
    static let prefillTileValues = 1 << 20

    /// Prefill over stored (non-F32) weights: tiles of rows of W converted to f32 and multiplied by
    /// sgemm, y[:, tile] = x · tileᵀ, the tiles shared out between the workers (each converts and
    /// multiplies its own). Memory: threads × prefillTileValues floats of scratch.
    private func tiledLinear(
        _ t: VLPackTensor, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int,
        into y: UnsafeMutablePointer<Float>, scratch: FloatBuffer, on context: ExecutionContext
    ) throws(InferenceError) {
        let tileRows = min(rows, max(16, Self.prefillTileValues / cols / 16 * 16))
        let tiles = (rows + tileRows - 1) / tileRows
        let workers = max(1, min(context.threads, tiles))
        let buffer = SharedPointer(scratch.reserve(workers * tileRows * cols))
        let input = SharedPointer(x), output = SharedPointer(y)
        _ = BLAS.singleThreaded
        try context.runThrowing(workers) { (worker) throws(InferenceError) in
            let tile = buffer.pointer + worker * tileRows * cols
            for index in stride(from: worker, to: tiles, by: workers) {
                let first = index * tileRows, count = min(tileRows, rows - first)
                try self.convert(t, rows: first..<(first + count), into: tile)
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(count), Int32(cols),
                    1, input.pointer, Int32(cols), tile, Int32(cols), 0, output.pointer + first, Int32(rows))
            }
        }
    }
}
