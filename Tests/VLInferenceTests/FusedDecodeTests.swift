import CVLKernels
import Testing
import VLCore
import VLInference
import VLQuant
import VLQuantize
import VLTestSupport
import VLVerify

/// The matrix-vector kernels that read GGUF blocks directly (one-token decoding), held equal to
/// their plain `_ref` kernels and to dequantize-then-multiply; and the decoder's one-token steps
/// over them equal to its prefill over converted matrices.
@Suite struct FusedDecodeTests {
    /// f32 sums in another order than the double reference: relative to Σ|w·x| of the row.
    static let kernelTolerance = 1e-5
    /// Token-by-token decoding vs prefill of the same ids over the same quantized weights: f32
    /// reorderings through every layer (the sgemm and the fused kernel sum in different orders).
    static let decodeTolerance = 1e-4

    @Test(arguments: QuantType.allCases)
    func blockKernelsMatchTheDequantizedProduct(type: QuantType) throws {
        var rng = SplitMix64(seed: 11)
        let rows = 70, cols = 512
        let values = rng.floats(rows * cols)
        let x = rng.floats(cols)
        var blocks = [UInt8](repeating: 0, count: rows * cols / type.elementsPerBlock * type.bytesPerBlock)
        try values.withUnsafeBufferPointer { v in try blocks.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: v, rowLength: cols, into: $0) } }
        var dequantized = [Float](repeating: 0, count: rows * cols)
        try blocks.withUnsafeBytes { b in
            try dequantized.withUnsafeMutableBufferPointer { try Quantizer.dequantizeRef(type, blocks: b, rowLength: cols, into: $0) }
        }
        // The kernel the decoder uses for this format, and the plain reference where one exists.
        var outputs: [(String, [Float])] = []
        blocks.withUnsafeBufferPointer { b in
            func run(_ name: String, _ kernel: (UnsafePointer<UInt8>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64) -> Void) {
                var y = [Float](repeating: .nan, count: rows)
                kernel(b.baseAddress, x, &y, Int64(cols), 0, Int64(rows))
                outputs.append((name, y))
            }
            switch type {
            case .q8_0: run("q8_0", vl_gemv_q8_0); run("q8_0 ref", vl_gemv_q8_0_ref)
            case .q4_0: run("q4_0", vl_gemv_q4_0); run("q4_0 ref", vl_gemv_q4_0_ref)
            case .q4_k:
                run("q4_k", vl_gemv_q4_k)
                run("q4_k dequantized") { vl_gemv_dequantized(vl_dequantize_q4_k, 256, 144, $0, $1, $2, $3, $4, $5) }
            case .q4_1, .q6_k:
                let dequantize: vl_dequantize_blocks = type == .q4_1 ? vl_dequantize_q4_1 : vl_dequantize_q6_k
                run(type.rawValue) { vl_gemv_dequantized(dequantize, Int64(type.elementsPerBlock), Int64(type.bytesPerBlock), $0, $1, $2, $3, $4, $5) }
            }
        }
        try #require(!outputs.isEmpty)
        Self.expectProducts(outputs, matrix: dequantized, x: x, rows: rows, cols: cols)
    }

    @Test func f16KernelMatchesTheWidenedProduct() {
        var rng = SplitMix64(seed: 12)
        let rows = 9, cols = 300  // not a multiple of the 256-value chunk
        let halves = rng.floats(rows * cols).map { FloatConversion.float16FromFloat($0) }
        let x = rng.floats(cols)
        var y = [Float](repeating: .nan, count: rows)
        vl_gemv_f16(halves, x, &y, Int64(cols), 0, Int64(rows))
        Self.expectProducts([("f16", y)], matrix: halves.map(FloatConversion.floatFromFloat16), x: x, rows: rows, cols: cols)
    }

    /// Each output row against Σ W[r, c]·x[c] in double.
    static func expectProducts(_ outputs: [(String, [Float])], matrix: [Float], x: [Float], rows: Int, cols: Int) {
        for r in 0..<rows {
            var want = 0.0, scale = 0.0
            for c in 0..<cols {
                want += Double(matrix[r * cols + c]) * Double(x[c])
                scale += abs(Double(matrix[r * cols + c]) * Double(x[c]))
            }
            for (name, y) in outputs { #expect(abs(Double(y[r]) - want) <= kernelTolerance * scale, "\(name) row \(r)") }
        }
    }

    /// Files whose layer matrices are F16, Q8_0, Q4_0 and Q4_K (with Q6_K beside them), so every
    /// fused kernel runs inside a real decoder.
    @Test(arguments: [("keep", StorageType.plain(.f16)), ("q8_0", .blocks(.q8_0)), ("q4_0", .blocks(.q4_0)), ("q4_k_m", .blocks(.q4_k))])
    func oneTokenStepsMatchPrefill(variant: String, storage: StorageType) throws {
        let ref = try LlamaParityTests.reference()
        let path = ["keep": Samples.llmKeep, "q8_0": Samples.llmQ8, "q4_0": Samples.llmQ4_0, "q4_k_m": Samples.llmQ4KM][variant]!
        let decoder = try LlamaDecoder(weights: Weights(path: path))
        #expect(decoder.weights.storage(of: "llm.layers.0.attn.q.weight") == storage)
        let ids = ref.ids, V = decoder.config.vocab
        let prefill = try decoder.forward(
            embeddings: try decoder.embed(ids), count: ids.count,
            state: decoder.makeRunState(capacity: 64), on: .standard)
        let state = decoder.makeRunState(capacity: 64)
        var stepped: [Float] = []
        for id in ids { stepped += try decoder.forward(embeddings: try decoder.embed([id]), count: 1, state: state, on: .standard) }
        #expect(stepped.count == ids.count * V)
        let m = ErrorMetrics(got: stepped, want: prefill)
        #expect(m.relL2 <= Self.decodeTolerance, "rel_l2 \(m.relL2)")
    }
}
