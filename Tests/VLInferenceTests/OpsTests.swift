import CVLKernels
import Foundation
import Testing
import VLCore
import VLInference
import VLPackFormat
import VLQuant
import VLTestSupport

/// The BLAS/C ops held equal to the double-precision `ReferenceOps`, and the weight access layer to
/// the plain-Swift dequantizers.
@Suite struct OpsTests {
    /// f32 rounding over sums of ≤ a few hundred terms.
    static let opTolerance: Float = 2e-5
    /// LayerNorm of rows 3 ± 0.01: the mean's rounding is amplified by 1/σ ≈ 170.
    static let layerNormTolerance: Float = 1e-4

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    /// (rows, in, out): one worker below `Ops.minParallelFlops`; above it the output columns are split
    /// between the workers in 16-column panels, out not a multiple of 16 included.
    @Test(arguments: [(7, 45, 33), (64, 96, 100), (300, 64, 40), (41, 800, 17)])
    func linearMatchesReference(m: Int, k: Int, n: Int) {
        var rng = SplitMix64(seed: 1)
        let x = rng.floats(m * k), w = rng.floats(n * k), b = rng.floats(n)
        for bias in [b, nil] {
            var y = [Float](repeating: .nan, count: m * n)
            y.withUnsafeMutableBufferPointer { yp in
                x.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        if let bias {
                            bias.withUnsafeBufferPointer { bp in
                                Ops.linear(
                                    xp.baseAddress!, rows: m, in: k, weight: wp.baseAddress!, bias: bp.baseAddress!, out: n, into: yp.baseAddress!,
                                    on: .standard)
                            }
                        } else {
                            Ops.linear(xp.baseAddress!, rows: m, in: k, weight: wp.baseAddress!, bias: nil, out: n, into: yp.baseAddress!, on: .standard)
                        }
                    }
                }
            }
            #expect(Self.maxDiff(y, ReferenceOps.linear(x, rows: m, in: k, weight: w, bias: bias, out: n)) < Self.opTolerance)
        }
    }

    @Test(arguments: [Float(1e-6), 1e-5, 1e-12])
    func layerNormMatchesReferenceAtEachEps(eps: Float) {
        var rng = SplitMix64(seed: 2)
        let (rows, d) = (37, 160)
        // An offset mean and a small spread: the two-pass variance must not lose it.
        let x = rng.floats(rows * d).map { 3 + $0 * 0.01 }, w = rng.floats(d), b = rng.floats(d)
        var y = x
        y.withUnsafeMutableBufferPointer { yp in
            Ops.layerNorm(yp.baseAddress!, rows: rows, dim: d, weight: w, bias: b, eps: eps, into: yp.baseAddress!, on: .standard)
        }
        #expect(Self.maxDiff(y, ReferenceOps.layerNorm(x, dim: d, weight: w, bias: b, eps: eps)) < Self.layerNormTolerance)
    }

    @Test func geluIsTheExactErfForm() {
        var rng = SplitMix64(seed: 3)
        let x = rng.floats(100_000, scale: 8) + [0, -0, 1e-30, -1e-30, 10, -10, 30, -30]
        var y = x
        y.withUnsafeMutableBufferPointer { Ops.gelu($0.baseAddress!, count: $0.count, on: .standard) }
        let want = ReferenceOps.gelu(x)
        for i in x.indices { #expect(abs(y[i] - want[i]) <= 2e-6 * max(1, abs(want[i])), "x = \(x[i])") }
        // The vectorized erf against libm's erff on the same inputs.
        var libm = x
        libm.withUnsafeMutableBufferPointer { vl_gelu_erf_libm_f32($0.baseAddress!, $0.count) }
        for i in x.indices { #expect(abs(y[i] - libm[i]) <= 1e-6 * max(1, abs(libm[i])), "x = \(x[i])") }
        // The tanh approximation differs from erf by ~1e-4 at x = 2: check it is not that one.
        let v: Float = 2, tanhForm = 0.5 * v * (1 + tanh(0.7978845608 * (v + 0.044715 * v * v * v)))
        #expect(abs(ReferenceOps.gelu([v])[0] - tanhForm) > 5e-5)
    }

    /// The row softmax kernel alone, for row lengths below, at and above its 16 lanes, with large
    /// logits (the max must be subtracted first).
    @Test(arguments: [1, 9, 16, 37])
    func softmaxRowsMatchReference(cols: Int) {
        var rng = SplitMix64(seed: 6)
        let rows = 3
        let x = rng.floats(rows * cols, scale: 40)
        var y = x
        y.withUnsafeMutableBufferPointer { vl_softmax_rows_f32($0.baseAddress!, rows, cols) }
        #expect(Self.maxDiff(y, ReferenceOps.softmaxRows(x, cols: cols)) < Self.opTolerance)
    }

    /// Key counts below, at and above the softmax kernel's 16 lanes.
    @Test(arguments: [(1, 1, 9), (2, 3, 9), (4, 2, 16), (2, 2, 37)])
    func attentionMatchesReference(batches: Int, heads: Int, keys nk: Int) {
        var rng = SplitMix64(seed: 4)
        let (nq, dh) = (5, 8), width = heads * dh
        // Q from a fused [q | k | v] buffer (EVA's layout), K and V from separate buffers (BERT's).
        let qkv = rng.floats(batches * nq * 3 * width, scale: 2)
        let k = rng.floats(batches * nk * width, scale: 2), v = rng.floats(batches * nk * width)
        var out = [Float](repeating: .nan, count: batches * nq * width)
        let scratch = FloatBuffer()
        qkv.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    out.withUnsafeMutableBufferPointer { o in
                        Ops.attention(
                            q: q.baseAddress!, qStride: 3 * width, k: kp.baseAddress!, kStride: width, v: vp.baseAddress!,
                            vStride: width, out: o.baseAddress!, outStride: width,
                            shape: .init(batches: batches, queries: nq, keys: nk, heads: heads, headDim: dh), scratch: scratch, on: .standard)
                    }
                }
            }
        }
        for b in 0..<batches {
            var q: [Float] = []
            for r in 0..<nq {
                let start: Int = (b * nq + r) * 3 * width
                q += qkv[start..<(start + width)]
            }
            let kv: Range<Int> = (b * nk * width)..<((b + 1) * nk * width)
            let rows: Range<Int> = (b * nq * width)..<((b + 1) * nq * width)
            let want = ReferenceOps.attention(q: q, k: Array(k[kv]), v: Array(v[kv]), queries: nq, keys: nk, heads: heads, headDim: dh)
            #expect(Self.maxDiff(Array(out[rows]), want) < Self.opTolerance)
        }
    }

    /// Every storage the weight layer reads, in a crafted file, against the plain-Swift dequantizers.
    @Test func weightsConvertEveryStorageExactly() throws {
        var rng = SplitMix64(seed: 5)
        let rows = 70, cols = 512  // ≥ 64 rows: the two-thread conversion path
        let values = rng.floats(rows * cols)
        var plan: [VLPackTensorPlan] = [
            .init(name: "f32", dtype: .f32, shape: [rows, cols]),
            .init(name: "f16", dtype: .f16, shape: [rows, cols]),
            .init(name: "bf16", dtype: .bf16, shape: [rows, cols]),
        ]
        var contents: [String: [UInt8]] = [
            "f32": values.withUnsafeBytes { Array($0) },
            "f16": values.map { FloatConversion.float16FromFloat($0) }.withUnsafeBytes { Array($0) },
            "bf16": values.map { FloatConversion.bfloat16FromFloat($0) }.withUnsafeBytes { Array($0) },
        ]
        for q in QuantType.allCases {
            var blocks = [UInt8](repeating: 0, count: rows * cols / q.elementsPerBlock * q.bytesPerBlock)
            try values.withUnsafeBufferPointer { v in try blocks.withUnsafeMutableBytes { try Quantizer.quantize(q, rows: v, rowLength: cols, into: $0) } }
            plan.append(.init(name: q.rawValue, storage: .blocks(BlockFormat(rawValue: q.rawValue)!), shape: [rows, cols]))
            contents[q.rawValue] = blocks
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weights-\(UUID().uuidString).vlpack").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try VLPackWriter(path: path, plan: plan)
        for p in plan { try writer.write(tensor: p.name, contents: contents[p.name]!) }
        _ = try writer.finish()

        let weights = try Weights(path: path)
        let scratch = FloatBuffer()
        for p in plan {
            let got = Array(UnsafeBufferPointer(start: try weights.matrix(p.name, rows: rows, cols: cols, into: scratch, on: .standard), count: rows * cols))
            var want = [Float](repeating: 0, count: rows * cols)
            switch p.storage {
            case .plain(.f32): want = values
            case .plain(.f16): want = values.map { FloatConversion.floatFromFloat16(FloatConversion.float16FromFloat($0)) }
            case .plain(.bf16): want = values.map { FloatConversion.floatFromBFloat16(FloatConversion.bfloat16FromFloat($0)) }
            case let .blocks(b):
                try contents[p.name]!.withUnsafeBytes { raw in
                    try want.withUnsafeMutableBufferPointer {
                        try Quantizer.dequantizeRef(QuantType(rawValue: b.rawValue)!, blocks: raw, rowLength: cols, into: $0)
                    }
                }
            default: Issue.record("unexpected storage")
            }
            #expect(got == want, "\(p.name)")
            // Small tensors go through the cached path: same values.
            if p.name == "f16" {
                let v = try weights.vector("f16", shape: [rows, cols])
                #expect(Array(UnsafeBufferPointer(start: v, count: rows * cols)) == want)
            }
        }
        #expect(throws: InferenceError.shapeMismatch(tensor: "f32", expected: [cols, rows], actual: [rows, cols])) {
            _ = try weights.matrix("f32", rows: cols, cols: rows, into: scratch, on: .standard)
        }
        #expect(throws: InferenceError.missingTensor("nope")) { _ = try weights.vector("nope", shape: [1]) }
    }
}
