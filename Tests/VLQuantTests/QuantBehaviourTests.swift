import Testing
import VLCore
@testable import VLQuant

/// Named tolerances (all relative L2 error bounds are on the generator's "normal" data).
enum Tolerance {
    /// Python and Swift compute the same double RMSE in different summation orders.
    static let rmseCrossCheck = 1e-9
    /// dequantize(quantize(x)) sanity bounds on relative L2 error, per type. Measured values are
    /// well below (Q8_0 ≈ 0.004, Q4_0 ≈ 0.09, Q4_1 ≈ 0.08, Q4_K ≈ 0.06, Q6_K ≈ 0.015); these catch
    /// layout or scale bugs, which push the error to ~1.
    static let relativeL2: [QuantType: Double] = [.q8_0: 0.01, .q4_0: 0.15, .q4_1: 0.13, .q4_k: 0.1, .q6_k: 0.03]
    /// Minimum cosine similarity after a round trip.
    static let cosine: [QuantType: Double] = [.q8_0: 0.9999, .q4_0: 0.99, .q4_1: 0.99, .q4_k: 0.995, .q6_k: 0.9995]
}

func quantized(_ type: QuantType, _ x: [Float], rowLength: Int, kernel: QuantKernel = .optimized, threads: Int = 1) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: try #require(type.byteCount(elements: x.count)))
    try x.withUnsafeBufferPointer { xs in
        try out.withUnsafeMutableBytes {
            if threads > 1 {
                try Quantizer.quantizeRows(type, rows: xs, rowLength: rowLength, into: $0, threads: threads, kernel: kernel)
            } else {
                try Quantizer.quantize(type, rows: xs, rowLength: rowLength, into: $0, kernel: kernel)
            }
        }
    }
    return out
}

@Suite struct QuantBehaviourTests {
    struct Input: CustomTestStringConvertible, Sendable {
        let mode: FixtureGenerator.Mode
        let seed: UInt64
        var testDescription: String { "\(mode.rawValue) seed \(seed)" }
    }

    static let inputs = [
        Input(mode: .mixed, seed: 1), Input(mode: .mixed, seed: 2), Input(mode: .normal, seed: 3),
        Input(mode: .heavy, seed: 4),
    ]

    /// Reference, scalar C and AVX2 kernels give identical bytes for every type, on random data
    /// (mixed scales, heavy tails) and on the crafted blocks.
    @Test(arguments: QuantType.allCases, inputs)
    func kernelsAgree(_ type: QuantType, _ input: Input) throws {
        let cols = 1024
        var x = FixtureGenerator.generate(
            seed: input.seed, start: 0, count: 64 * cols, mode: input.mode,
            group: type.elementsPerBlock)
        let crafted = QuantFixtures.floats("crafted_input.f32")
        x.replaceSubrange(0..<cols, with: crafted.prefix(cols))
        let ref = try quantized(type, x, rowLength: cols, kernel: .reference)
        #expect(try quantized(type, x, rowLength: cols, kernel: .scalarC) == ref)
        #expect(try quantized(type, x, rowLength: cols, kernel: .optimized) == ref)
        let dRef = try dequantized(type, ref, count: x.count, rowLength: cols, kernel: .reference)
        let dOpt = try dequantized(type, ref, count: x.count, rowLength: cols, kernel: .optimized)
        #expect(dRef.map(\.bitPattern) == dOpt.map(\.bitPattern))
    }

    /// The crafted K-quant rows (zeros, constants, a lone outlier, sub-epsilon values…) through
    /// every kernel: equal bytes.
    @Test(arguments: [QuantType.q4_k, .q6_k])
    func kernelsAgreeOnCraftedKRows(_ type: QuantType) throws {
        let x = QuantFixtures.floats("kquant_crafted_input.f32")
        let ref = try quantized(type, x, rowLength: 512, kernel: .reference)
        #expect(try quantized(type, x, rowLength: 512, kernel: .optimized) == ref)
    }

    func dequantized(_ type: QuantType, _ q: [UInt8], count: Int, rowLength: Int, kernel: QuantKernel) throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        try q.withUnsafeBytes { qb in
            try out.withUnsafeMutableBufferPointer {
                try Quantizer.dequantize(type, blocks: qb, rowLength: rowLength, into: $0, kernel: kernel)
            }
        }
        return out
    }

    @Test(arguments: QuantType.allCases)
    func roundTripErrorIsSane(_ type: QuantType) throws {
        let x = FixtureGenerator.generate(seed: 11, start: 0, count: 32 * 4096, mode: .normal, group: 256)
        let q = try quantized(type, x, rowLength: 4096)
        let y = try dequantized(type, q, count: x.count, rowLength: 4096, kernel: .optimized)
        let r = QuantErrorReport.measure(original: x, dequantized: y, type: type)
        print("round trip \(type.rawValue): rmse \(r.rmse) max \(r.maxAbsError) relL2 \(r.relativeL2) cos \(r.cosineSimilarity) bpw \(r.bitsPerWeight)")
        #expect(r.relativeL2 < Tolerance.relativeL2[type]!)
        #expect(r.cosineSimilarity > Tolerance.cosine[type]!)
        #expect(r.bitsPerWeight == Double(type.bytesPerBlock * 8) / Double(type.elementsPerBlock))
    }

    @Test(arguments: QuantType.allCases, [2, 3, 7])
    func multithreadedEqualsSingleThreaded(_ type: QuantType, _ threads: Int) throws {
        let cols = 512, rows = 13  // rows not divisible by the thread count
        let x = FixtureGenerator.generate(seed: 5, start: 0, count: rows * cols, mode: .mixed, group: 32)
        let one = try quantized(type, x, rowLength: cols)
        #expect(try quantized(type, x, rowLength: cols, threads: threads) == one)
    }

    @Test func blockGeometry() {
        #expect(QuantType.allCases.map(\.bitsPerWeight) == [8.5, 4.5, 5.0, 4.5, 6.5625])
        #expect(QuantType.q4_k.fallback == .q4_1)
        #expect(QuantType.q6_k.fallback == .q8_0)
        #expect(QuantType.q8_0.fallback == nil && QuantType.q4_0.fallback == nil && QuantType.q4_1.fallback == nil)
        #expect(QuantType.q4_k.byteCount(elements: 512) == 288)
        #expect(QuantType.q4_k.byteCount(elements: 500) == nil)
    }

    @Test(arguments: [
        (QuantType.q4_k, 4096, QuantType?.some(.q4_k)), (.q4_k, 4160, .q4_1), (.q6_k, 11008, .q6_k),
        (.q6_k, 1056, .q8_0), (.q4_k, 100, nil), (.q6_k, 48, nil), (.q8_0, 64, .q8_0), (.q4_0, 33, nil),
        (.q4_1, 0, nil), (.q8_0, -32, nil),
    ])
    func fallbackRules(_ requested: QuantType, _ rowLength: Int, _ expected: QuantType?) {
        #expect(QuantType.best(for: requested, rowLength: rowLength) == expected)
    }

    @Test func invalidShapesAreRefused() throws {
        let x = [Float](repeating: 1, count: 96)
        var out = [UInt8](repeating: 0, count: 102)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBytes { o in
                #expect(throws: QuantError.rowLengthNotBlockMultiple(type: .q8_0, rowLength: 48)) {
                    try Quantizer.quantize(.q8_0, rows: xs, rowLength: 48, into: o)
                }
                #expect(throws: QuantError.sourceNotWholeRows(count: 96, rowLength: 64)) {
                    try Quantizer.quantize(.q8_0, rows: xs, rowLength: 64, into: o)
                }
                #expect(throws: QuantError.destinationSizeMismatch(expected: 54, actual: 102)) {
                    try Quantizer.quantize(.q4_0, rows: xs, rowLength: 32, into: o)
                }
                #expect(throws: QuantError.rowLengthNotBlockMultiple(type: .q4_k, rowLength: 96)) {
                    try Quantizer.quantizeRows(.q4_k, rows: xs, rowLength: 96, into: o, threads: 2)
                }
            }
        }
        #expect(QuantError.rowLengthNotBlockMultiple(type: .q4_k, rowLength: 96).rule == "rowLengthNotBlockMultiple")
    }

    /// Every non-NaN f16 pattern widens identically through FloatConversion, scalar C and F16C.
    @Test func f16AndBf16WideningAgree() throws {
        let patterns = (0...UInt16.max).filter { ($0 & 0x7C00) != 0x7C00 || ($0 & 0x03FF) == 0 }
        for dtype in [DType.f16, .bf16] {
            let usable = dtype == .f16 ? patterns : (0...UInt16.max).filter { ($0 & 0x7F80) != 0x7F80 || ($0 & 0x7F) == 0 }
            var results: [[UInt32]] = []
            for kernel in QuantKernel.allCases {
                var out = [Float](repeating: 0, count: usable.count)
                try usable.withUnsafeBytes { src in
                    try out.withUnsafeMutableBufferPointer { try SourceConversion.floats(from: src, dtype: dtype, into: $0, kernel: kernel) }
                }
                results.append(out.map(\.bitPattern))
            }
            #expect(results[1] == results[0] && results[2] == results[0], "\(dtype)")
        }
    }

    /// Quantizing stored F16 bytes tile by tile (with a tile that does not divide the rows) equals
    /// widening everything first.
    @Test(arguments: [QuantType.q4_0, .q6_k])
    func tiledSourceQuantization(_ type: QuantType) throws {
        let cols = 512, rows = 10
        let x = FixtureGenerator.generate(seed: 9, start: 0, count: rows * cols, mode: .normal, group: 32)
        let halves = x.map { FloatConversion.float16FromFloat($0) }
        let widened = halves.map { FloatConversion.floatFromFloat16($0) }
        let whole = try quantized(type, widened, rowLength: cols)
        var tiled = [UInt8](repeating: 0, count: whole.count)
        try halves.withUnsafeBytes { src in
            try tiled.withUnsafeMutableBytes {
                try SourceConversion.quantize(type, source: src, dtype: .f16, rowLength: cols, into: $0, threads: 2, tileRows: 3)
            }
        }
        #expect(tiled == whole)
    }

    @Test func errorReportBasics() {
        let r = QuantErrorReport.measure(original: [3, 4], dequantized: [3, 4], type: .q8_0)
        #expect(r.rmse == 0 && r.maxAbsError == 0 && r.relativeL2 == 0 && r.cosineSimilarity == 1)
        let s = QuantErrorReport.measure(original: [1, 0], dequantized: [0, 1], type: .q4_0)
        #expect(s.rmse == 1 && s.maxAbsError == 1 && s.cosineSimilarity == 0 && abs(s.relativeL2 - 2.0.squareRoot()) < 1e-15)
        #expect(QuantErrorReport.measure(original: [0, 0], dequantized: [0, 0], type: .q6_k).cosineSimilarity == 1)
    }
}
