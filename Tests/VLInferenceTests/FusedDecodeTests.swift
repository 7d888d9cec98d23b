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

    @Test(arguments: [QuantType.q8_0, .q4_0])
    func kernelsMatchTheirReferenceAndTheDequantizedProduct(type: QuantType) throws {
        var rng = SplitMix64(seed: 11)
        let rows = 70, cols = 512
        let values = rng.floats(rows * cols)
        let x = rng.floats(cols)
        var blocks = [UInt8](repeating: 0, count: rows * cols / type.elementsPerBlock * type.bytesPerBlock)
        try values.withUnsafeBufferPointer { v in try blocks.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: v, rowLength: cols, into: $0) } }
        var dequantized = [Float](repeating: 0, count: rows * cols)
        try blocks.withUnsafeBytes { b in try dequantized.withUnsafeMutableBufferPointer { try Quantizer.dequantizeRef(type, blocks: b, rowLength: cols, into: $0) } }
        var fast = [Float](repeating: .nan, count: rows), ref = [Float](repeating: .nan, count: rows)
        let (kernel, reference) = type == .q8_0 ? (vl_gemv_q8_0, vl_gemv_q8_0_ref) : (vl_gemv_q4_0, vl_gemv_q4_0_ref)
        blocks.withUnsafeBufferPointer { b in
            kernel(b.baseAddress, x, &fast, Int64(cols), 0, Int64(rows))
            reference(b.baseAddress, x, &ref, Int64(cols), 0, Int64(rows))
        }
        for r in 0..<rows {
            var want = 0.0, scale = 0.0
            for c in 0..<cols {
                want += Double(dequantized[r * cols + c]) * Double(x[c])
                scale += abs(Double(dequantized[r * cols + c]) * Double(x[c]))
            }
            #expect(abs(Double(ref[r]) - want) <= Self.kernelTolerance * scale, "ref row \(r)")
            #expect(abs(Double(fast[r]) - want) <= Self.kernelTolerance * scale, "row \(r)")
        }
    }

    @Test(arguments: [QuantRecipe.q8_0, .q4_0])
    func oneTokenStepsMatchPrefill(recipe: QuantRecipe) throws {
        let ref = try LlamaParityTests.reference()
        let path = recipe == .q8_0 ? Samples.llmQ8 : Samples.llmQ4_0
        let decoder = try LlamaDecoder(weights: Weights(path: path))
        // The layers' matrices are in the recipe's block format, so the steps take the fused kernels.
        let format: BlockFormat = recipe == .q8_0 ? .q8_0 : .q4_0
        #expect(decoder.weights.storage(of: "llm.layers.0.mlp.down.weight") == .blocks(format))
        #expect(decoder.weights.storage(of: "llm.layers.1.attn.q.weight") == .blocks(format))
        let ids = ref.ids, V = decoder.config.vocab
        let prefill = try decoder.forward(embeddings: try decoder.embed(ids), count: ids.count,
                                          state: decoder.makeRunState(capacity: 64), on: .standard)
        let state = decoder.makeRunState(capacity: 64)
        var stepped: [Float] = []
        for id in ids { stepped += try decoder.forward(embeddings: try decoder.embed([id]), count: 1, state: state, on: .standard) }
        #expect(stepped.count == ids.count * V)
        let m = ErrorMetrics(got: stepped, want: prefill)
        #expect(m.relL2 <= Self.decodeTolerance, "rel_l2 \(m.relL2)")
    }
}
