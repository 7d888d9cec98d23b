import CVLKernels
import VLCore

extension Weights {
    /// The block formats whose matrix-vector product reads the stored blocks directly.
    static let fusedVectorKernels: [BlockFormat: @convention(c) (UnsafePointer<UInt8>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?,
                                                                 Int64, Int64, Int64) -> Void] = [
        .q8_0: vl_gemv_q8_0, .q4_0: vl_gemv_q4_0,
    ]

    /// y[L, rows] = x[L, cols] · Wᵀ with W = `name` [rows, cols] (no bias).
    ///
    /// One input row with Q8_0 or Q4_0 weights (one-token decoding) reads the blocks straight from the
    /// mapping, dequantizing in registers: the weights are streamed once and nothing is converted into
    /// memory (rows split between the workers). Anything else converts W into `scratch` and runs the
    /// split sgemm (`matrix` + `Ops.linear`). Cost: 2·L·rows·cols flops; the fused path reads
    /// rows·cols·bits/8 bytes of weights.
    public func linear(_ name: String, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int,
                       into y: UnsafeMutablePointer<Float>, scratch: FloatBuffer, on context: ExecutionContext) throws(InferenceError) {
        let t = try tensor(name, shape: [rows, cols])
        if L == 1, case let .blocks(format) = t.storage, let kernel = Self.fusedVectorKernels[format], cols % 32 == 0 {
            let blocks = SharedPointer(pack.bytes(of: t).buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            let input = SharedPointer(x), output = SharedPointer(y)
            let parts = rows >= 256 ? min(context.threads, rows / 64) : 1
            context.run(parts) { part in
                kernel(blocks.pointer, input.pointer, output.pointer, Int64(cols), Int64(rows * part / parts), Int64(rows * (part + 1) / parts))
            }
            return
        }
        let w = try matrix(name, rows: rows, cols: cols, into: scratch, on: context)
        Ops.linear(x, rows: L, in: cols, weight: w, bias: nil, out: rows, into: y, on: context)
    }
}
