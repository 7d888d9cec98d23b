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
    /// round(x/d)·d is within d/2 of x up to the f32 rounding of the division and product.
    static let activationRoundingSlack: Float = 1e-5
    /// Token-by-token decoding vs prefill of the same ids over the same float weights: f32
    /// reorderings through every layer (the sgemm and the fused kernel sum in different orders).
    static let decodeTolerance = 1e-4
    /// The same over block weights, where one-token steps round each matmul's input to 8-bit blocks:
    /// step d = max|x|/127 gives a uniform error of std d/√12, ≈ 0.6 % of a Gaussian block's RMS
    /// (max ≈ 2.5σ over 32 values), entering 7 matmuls per layer and the head; a bound of 3 %
    /// on the logits leaves room for that compounding, and an error in the cache or positions gives
    /// O(1).
    static let activationRoundingTolerance = 0.03

    @Test(arguments: QuantType.allCases)
    func blockKernelsMatchTheDequantizedProduct(type: QuantType) throws {
        var rng = SplitMix64(seed: 11)
        // An odd block count for the 32-value types: the kernels that take two blocks per step must end alone.
        let rows = 70, cols = type == .q4_k || type == .q6_k ? 512 : 544
        let values = rng.floats(rows * cols)
        let x = rng.floats(cols)
        var blocks = [UInt8](repeating: 0, count: rows * cols / type.elementsPerBlock * type.bytesPerBlock)
        try values.withUnsafeBufferPointer { v in try blocks.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: v, rowLength: cols, into: $0) } }
        var dequantized = [Float](repeating: 0, count: rows * cols)
        try blocks.withUnsafeBytes { b in
            try dequantized.withUnsafeMutableBufferPointer { try Quantizer.dequantizeRef(type, blocks: b, rowLength: cols, into: $0) }
        }
        // The activations as the kernels see them: 8-bit blocks of 32 values (256 for the K-quants).
        let block = type == .q4_k || type == .q6_k ? 256 : 32
        var q = [Int8](repeating: 0, count: cols), d = [Float](repeating: 0, count: cols / block)
        var sums = [Int16](repeating: 0, count: cols / 16)
        vl_quantize_q8_activations(x, Int64(cols), Int64(block), &q, &d, &sums)
        let rounded = (0..<cols).map { Float(q[$0]) * d[$0 / block] }
        for c in 0..<cols {
            #expect(abs(rounded[c] - x[c]) <= d[c / block] / 2 * (1 + Self.activationRoundingSlack), "activation \(c)")
        }
        for h in 0..<cols / 16 { #expect(Int(sums[h]) == q[(16 * h)..<(16 * h + 16)].reduce(0) { $0 + Int($1) }) }
        typealias Kernel = (UnsafePointer<UInt8>?, UnsafePointer<vl_q8_activations>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64) -> Void
        let kernels: (Kernel, Kernel) =
            switch type {
            case .q8_0: (vl_gemv_q8_0_q8, vl_gemv_q8_0_q8_ref)
            case .q4_0: (vl_gemv_q4_0_q8, vl_gemv_q4_0_q8_ref)
            case .q4_1: (vl_gemv_q4_1_q8, vl_gemv_q4_1_q8_ref)
            case .q4_k: (vl_gemv_q4_k_q8, vl_gemv_q4_k_q8_ref)
            case .q6_k: (vl_gemv_q6_k_q8, vl_gemv_q6_k_q8_ref)
            }
        // Where the dispatch picks AVX-512 VNNI, the AVX2 kernel is held equal too (and vice versa the
        // AVX-512 one only runs where the CPU has it).
        var perISA: [(String, Kernel)] = []
        switch type {
        case .q8_0: perISA = [("q8_0 avx2", vl_gemv_q8_0_q8_avx2)] + (vl_cpu_has_avx512_vnni() != 0 ? [("q8_0 avx512", vl_gemv_q8_0_q8_avx512)] : [])
        case .q4_k: perISA = [("q4_k avx2", vl_gemv_q4_k_q8_avx2)] + (vl_cpu_has_avx512_vnni() != 0 ? [("q4_k avx512", vl_gemv_q4_k_q8_avx512)] : [])
        default: break
        }
        var outputs: [(String, [Float])] = []
        q.withUnsafeBufferPointer { qp in
            d.withUnsafeBufferPointer { dp in
                sums.withUnsafeBufferPointer { sp in
                    var activations = vl_q8_activations(q: qp.baseAddress, d: dp.baseAddress, sums: sp.baseAddress)
                    blocks.withUnsafeBufferPointer { b in
                        for (name, kernel) in [(type.rawValue, kernels.0), ("\(type.rawValue) ref", kernels.1)] + perISA {
                            var y = [Float](repeating: .nan, count: rows)
                            // Odd row ranges: the kernels that take rows in pairs must handle the last one alone.
                            kernel(b.baseAddress, &activations, &y, Int64(cols), 0, 33)
                            kernel(b.baseAddress, &activations, &y, Int64(cols), 33, Int64(rows))
                            outputs.append((name, y))
                        }
                    }
                }
            }
        }
        Self.expectProducts(outputs, matrix: dequantized, x: rounded, rows: rows, cols: cols)
    }

    /// A random rows × cols matrix quantized to `type` (Q4_0 or Q8_0), and
    /// its values dequantized by the plain reference.
    static func quantizedMatrix(_ type: QuantType = .q4_0, rows: Int, cols: Int, rng: inout SplitMix64) throws -> (blocks: [UInt8], dequantized: [Float]) {
        let values = rng.floats(rows * cols)
        var blocks = [UInt8](repeating: 0, count: rows * cols / type.elementsPerBlock * type.bytesPerBlock)
        try values.withUnsafeBufferPointer { v in try blocks.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: v, rowLength: cols, into: $0) } }
        var dequantized = [Float](repeating: 0, count: rows * cols)
        try blocks.withUnsafeBytes { b in
            try dequantized.withUnsafeMutableBufferPointer { try Quantizer.dequantizeRef(type, blocks: b, rowLength: cols, into: $0) }
        }
        return (blocks, dequantized)
    }

    /// Q4_0 regrouped eight rows at a time: the same values as Q4_0 (its dequantizer bit-equal to
    /// Q4_0's), and its kernel and `_ref` equal to the dequantized product over group-aligned row ranges.
    @Test func regroupedQ4_0MatchesQ4_0() throws {
        var rng = SplitMix64(seed: 13)
        let rows = 48, cols = 320
        let (blocks, dequantized) = try Self.quantizedMatrix(rows: rows, cols: cols, rng: &rng)
        let x = rng.floats(cols)
        var regrouped = [UInt8](repeating: 0, count: blocks.count)
        vl_q4_0x8_repack(blocks, &regrouped, Int64(cols), 0, 2)
        vl_q4_0x8_repack(blocks, &regrouped, Int64(cols), 2, Int64(rows / 8))
        #expect(regrouped.sorted() == blocks.sorted(), "a permutation of the Q4_0 bytes")
        // Rows 13..<40: a range that starts and ends inside groups.
        for dequantize in [vl_q4_0x8_dequantize, vl_q4_0x8_dequantize_ref] {
            var values8 = [Float](repeating: .nan, count: 27 * cols)
            dequantize(regrouped, Int64(cols), 13, 40, &values8)
            #expect(values8.map(\.bitPattern) == dequantized[(13 * cols)..<(40 * cols)].map(\.bitPattern))
        }

        var q = [Int8](repeating: 0, count: cols), d = [Float](repeating: 0, count: cols / 32)
        var sums = [Int16](repeating: 0, count: cols / 16)
        vl_quantize_q8_activations(x, Int64(cols), 32, &q, &d, &sums)
        let rounded = (0..<cols).map { Float(q[$0]) * d[$0 / 32] }
        var outputs: [(String, [Float])] = []
        q.withUnsafeBufferPointer { qp in
            d.withUnsafeBufferPointer { dp in
                sums.withUnsafeBufferPointer { sp in
                    var activations = vl_q8_activations(q: qp.baseAddress, d: dp.baseAddress, sums: sp.baseAddress)
                    var kernels = [
                        ("q4_0x8", vl_gemv_q4_0x8_q8), ("q4_0x8 ref", vl_gemv_q4_0x8_q8_ref), ("q4_0x8 avx2", vl_gemv_q4_0x8_q8_avx2),
                    ]
                    if vl_cpu_has_avx512_vnni() != 0 { kernels.append(("q4_0x8 avx512", vl_gemv_q4_0x8_q8_avx512)) }
                    for (name, kernel) in kernels {
                        var y = [Float](repeating: .nan, count: rows)
                        kernel(regrouped, &activations, &y, Int64(cols), 0, 16)
                        kernel(regrouped, &activations, &y, Int64(cols), 16, Int64(rows))
                        outputs.append((name, y))
                    }
                }
            }
        }
        Self.expectProducts(outputs, matrix: dequantized, x: rounded, rows: rows, cols: cols)
    }

    /// Prefill in integers for many tokens at once, over Q4_0x8 and over Q8_0 regrouped as Q8_0x8u: each
    /// token's row within the kernel tolerance of the double-precision product of the same rounded
    /// activations, and for Q4_0x8 bit for bit the AVX-512 one-token kernel's (same block order). 70
    /// tokens: past one 64-token tile, and not a multiple of the four-token step; a row range that
    /// starts past the first group and ends before the last.
    @Test(arguments: [QuantType.q4_0, .q8_0])
    func regroupedPrefillMatchesOneTokenProducts(type: QuantType) throws {
        var rng = SplitMix64(seed: 14)
        let rows = 48, cols = 320, tokens = 70
        let (blocks, dequantized) = try Self.quantizedMatrix(type, rows: rows, cols: cols, rng: &rng)
        typealias Prefill = (UnsafePointer<UInt8>?, UnsafePointer<vl_q8_activations>?, Int64, UnsafeMutablePointer<Float>?, Int64, Int64, Int64, Int64) -> Void
        let regrouped: [UInt8], kernels: [(String, Prefill)]
        if type == .q4_0 {
            var bytes = [UInt8](repeating: 0, count: blocks.count)
            vl_q4_0x8_repack(blocks, &bytes, Int64(cols), 0, Int64(rows / 8))
            (regrouped, kernels) = (bytes, [("prefill", vl_gemm_q4_0x8_q8), ("prefill ref", vl_gemm_q4_0x8_q8_ref)])
        } else {
            var bytes = [UInt8](repeating: 0, count: Int(vl_q8_0x8u_bytes(Int64(rows), Int64(cols))))
            vl_q8_0x8u_repack(blocks, &bytes, Int64(cols), 0, Int64(rows / 8))
            (regrouped, kernels) = (bytes, [("prefill", vl_gemm_q8_0x8u_q8), ("prefill ref", vl_gemm_q8_0x8u_q8_ref)])
        }
        let x = rng.floats(tokens * cols)
        var q = [Int8](repeating: 0, count: tokens * cols), d = [Float](repeating: 0, count: tokens * cols / 32)
        var sums = [Int16](repeating: 0, count: tokens * cols / 16)
        for t in 0..<tokens {
            q.withUnsafeMutableBufferPointer { qp in
                d.withUnsafeMutableBufferPointer { dp in
                    sums.withUnsafeMutableBufferPointer { sp in
                        vl_quantize_q8_activations(
                            Array(x[(t * cols)..<((t + 1) * cols)]), Int64(cols), 32, qp.baseAddress! + t * cols, dp.baseAddress! + t * cols / 32,
                            sp.baseAddress! + t * cols / 16)
                    }
                }
            }
        }
        let (first, last) = (8, 40)
        var outputs: [(String, [Float])] = []
        var oneToken = [Float](repeating: .nan, count: tokens * rows)
        q.withUnsafeBufferPointer { qp in
            d.withUnsafeBufferPointer { dp in
                sums.withUnsafeBufferPointer { sp in
                    let activations = (0..<tokens).map {
                        vl_q8_activations(q: qp.baseAddress! + $0 * cols, d: dp.baseAddress! + $0 * cols / 32, sums: sp.baseAddress! + $0 * cols / 16)
                    }
                    for (name, kernel) in kernels {
                        var y = [Float](repeating: .nan, count: tokens * rows)
                        kernel(regrouped, activations, Int64(tokens), &y, Int64(rows), Int64(cols), Int64(first), Int64(last))
                        outputs.append((name, y))
                    }
                    if type == .q4_0, vl_cpu_has_avx512_vnni() != 0 {
                        for t in 0..<tokens {
                            var a = activations[t]
                            oneToken.withUnsafeMutableBufferPointer {
                                vl_gemv_q4_0x8_q8_avx512(regrouped, &a, $0.baseAddress! + t * rows, Int64(cols), Int64(first), Int64(last))
                            }
                        }
                    }
                }
            }
        }
        let inRange = (0..<tokens).flatMap { t in (first..<last).map { t * rows + $0 } }
        let prefill = outputs[0].1
        for (name, y) in outputs {
            #expect((0..<y.count).filter { !inRange.contains($0) }.allSatisfy { y[$0].isNaN }, "\(name): rows outside the range untouched")
        }
        if type == .q4_0, vl_cpu_has_avx512_vnni() != 0 { #expect(inRange.map { prefill[$0].bitPattern } == inRange.map { oneToken[$0].bitPattern }) }
        for t in 0..<tokens {
            let rounded = (0..<cols).map { Float(q[t * cols + $0]) * d[(t * cols + $0) / 32] }
            Self.expectProducts(
                outputs.map { ($0.0, Array($0.1[(t * rows + first)..<(t * rows + last)])) }, matrix: Array(dequantized[(first * cols)..<(last * cols)]),
                x: rounded, rows: last - first, cols: cols)
        }
    }

    /// A NaN or infinite activation makes its block's scale non-finite, so the product is NaN rather
    /// than the block silently vanishing.
    @Test(arguments: [Float.nan, .infinity])
    func nonFiniteActivationsReachTheOutput(bad: Float) throws {
        var x = [Float](repeating: 0.5, count: 64)
        x[40] = bad
        var q = [Int8](repeating: 0, count: 64), d = [Float](repeating: 0, count: 2), sums = [Int16](repeating: 0, count: 4)
        vl_quantize_q8_activations(x, 64, 32, &q, &d, &sums)
        #expect(d[0] == 0.5 / 127 && !d[1].isFinite)
        var blocks = [UInt8](repeating: 0, count: 2 * 34)
        try [Float](repeating: 1, count: 64).withUnsafeBufferPointer { v in
            try blocks.withUnsafeMutableBytes { try Quantizer.quantize(.q8_0, rows: v, rowLength: 64, into: $0) }
        }
        var y: [Float] = [0]
        q.withUnsafeBufferPointer { qp in
            d.withUnsafeBufferPointer { dp in
                sums.withUnsafeBufferPointer { sp in
                    var a = vl_q8_activations(q: qp.baseAddress, d: dp.baseAddress, sums: sp.baseAddress)
                    vl_gemv_q8_0_q8(blocks, &a, &y, 64, 0, 1)
                }
            }
        }
        #expect(y[0].isNaN)
    }

    /// Rows: two passes of four (AVX2) or one of eight (AVX-512, past 4096 columns) and the rest alone;
    /// columns on both sides of AVX-512's switch from one row per pass to eight, neither a multiple of
    /// any kernel's step (the AVX-512 tail is masked).
    @Test(arguments: [300, 4100])
    func halfKernelsMatchTheWidenedProduct(cols: Int) {
        var rng = SplitMix64(seed: 12)
        let rows = 11
        let values = rng.floats(rows * cols)
        let x = rng.floats(cols)
        let halves = values.map { FloatConversion.float16FromFloat($0) }
        var kernels: [(String, (UnsafePointer<UInt16>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64) -> Void)] = [
            ("f16", vl_gemv_f16), ("f16 ref", vl_gemv_f16_ref), ("f16 avx2", vl_gemv_f16_avx2),
        ]
        if vl_cpu_has_avx512() != 0 { kernels.append(("f16 avx512", vl_gemv_f16_avx512)) }
        let f16 = kernels.map { name, kernel in
            var y = [Float](repeating: .nan, count: rows)
            kernel(halves, x, &y, Int64(cols), 0, Int64(rows))
            return (name, y)
        }
        Self.expectProducts(f16, matrix: halves.map(FloatConversion.floatFromFloat16), x: x, rows: rows, cols: cols)
        var bf16 = [Float](repeating: .nan, count: rows)
        let brains = values.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        vl_gemv_bf16(brains, x, &bf16, Int64(cols), 0, Int64(rows))
        Self.expectProducts([("bf16", bf16)], matrix: brains.map { Float(bitPattern: UInt32($0) << 16) }, x: x, rows: rows, cols: cols)
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

    /// A one-token step's rows are shared out in more parts than workers, taken as workers come free;
    /// each row is summed by one kernel call whatever the split, so any thread count gives the same bits
    /// (a part missed or done twice would not).
    @Test(arguments: [Samples.llmKeep, Samples.llmQ4_0, Samples.llmQ4KM])
    func oneTokenStepsAreTheSameOnAnyThreadCount(path: String) throws {
        let decoder = try LlamaDecoder(weights: Weights(path: path))
        let ids = try LlamaParityTests.reference().ids
        func steps(_ threads: Int) throws -> [Float] {
            let state = decoder.makeRunState(capacity: 64)
            var out: [Float] = []
            for id in ids.prefix(6) {
                out += try decoder.forward(embeddings: try decoder.embed([id]), count: 1, state: state, logits: .last, on: ExecutionContext(threads: threads))
            }
            return out
        }
        let one = try steps(1)
        for threads in [2, 3] { #expect(try steps(threads) == one, "\(threads) threads") }
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
        let tolerance = storage == .plain(.f16) ? Self.decodeTolerance : Self.activationRoundingTolerance
        #expect(m.relL2 <= tolerance, "rel_l2 \(m.relL2)")
    }
}
