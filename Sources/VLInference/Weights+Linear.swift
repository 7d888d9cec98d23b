import CVLKernels
import VLCore

extension Weights {
    /// y[r] = W[r, :]·x for rows [begin, end), reading the stored bytes of W directly.
    typealias VectorKernel = @Sendable (UnsafeRawPointer, UnsafePointer<Float>, UnsafeMutablePointer<Float>, _ cols: Int, Range<Int>) -> Void

    /// The matrix-vector kernel of a storage type: specialized ones for Q8_0, Q4_0 and Q4_K, each other block
    /// format through its exact dequantizer one block at a time, F16 in 256-value chunks. nil: none
    /// (F32 is used in place by sgemm; BF16 converts).
    static func vectorKernel(for storage: StorageType) -> VectorKernel? {
        func blocks(_ f: vl_dequantize_blocks, _ format: BlockFormat) -> VectorKernel {
            { w, x, y, cols, rows in
                vl_gemv_dequantized(
                    f, Int64(format.elementsPerBlock), Int64(format.bytesPerBlock), w.assumingMemoryBound(to: UInt8.self),
                    x, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
            }
        }
        /// A specialized kernel over blocks of bytes.
        func specialized(
            _ f: @escaping @convention(c) (UnsafePointer<UInt8>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64) -> Void
        ) -> VectorKernel {
            { w, x, y, cols, rows in
                f(w.assumingMemoryBound(to: UInt8.self), x, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
            }
        }
        switch storage {
        case .blocks(.q8_0): return specialized(vl_gemv_q8_0)
        case .blocks(.q4_0): return specialized(vl_gemv_q4_0)
        case .blocks(.q4_1): return blocks(vl_dequantize_q4_1, .q4_1)
        case .blocks(.q4_k): return specialized(vl_gemv_q4_k)
        case .blocks(.q6_k): return blocks(vl_dequantize_q6_k, .q6_k)
        case .plain(.f16):
            return { w, x, y, cols, rows in
                vl_gemv_f16(w.assumingMemoryBound(to: UInt16.self), x, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
            }
        default: return nil
        }
    }

    /// y[L, rows] = x[L, cols] · Wᵀ with W = `name` [rows, cols] (no bias).
    ///
    /// One input row (one-token decoding) over block or F16 weights reads them straight from the
    /// mapping (`vectorKernel`): the weights are streamed once and nothing is converted into memory
    /// (rows split between the workers). Anything else converts W into `scratch` and runs the
    /// split sgemm (`matrix` + `Ops.linear`). Cost: 2·L·rows·cols flops; the fused path reads
    /// rows·cols·bits/8 bytes of weights.
    public func linear(
        _ name: String, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int,
        into y: UnsafeMutablePointer<Float>, scratch: FloatBuffer, on context: ExecutionContext
    ) throws(InferenceError) {
        let t = try tensor(name, shape: [rows, cols])
        if L == 1, let kernel = Self.vectorKernel(for: t.storage) {
            let stored = SharedPointer(UnsafeRawPointer(pack.bytes(of: t).buffer.baseAddress!))
            let input = SharedPointer(x), output = SharedPointer(y)
            let parts = rows >= 256 ? min(context.threads, rows / 64) : 1
            context.run(parts) { part in
                kernel(stored.pointer, input.pointer, output.pointer, cols, rows * part / parts..<rows * (part + 1) / parts)
            }
            return
        }
        let w = try matrix(name, rows: rows, cols: cols, into: scratch, on: context)
        Ops.linear(x, rows: L, in: cols, weight: w, bias: nil, out: rows, into: y, on: context)
    }
}
