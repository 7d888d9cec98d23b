import Testing
import VLCore
@testable import VLQuant

/// Q4_K / Q6_K against the blocks ggml's `quantize_row_q4_K_ref` / `quantize_row_q6_K_ref` produced
/// (committed under Fixtures/quant, see its README).
@Suite struct KQuantTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let tensor: String
        let type: QuantType
        var testDescription: String { "\(tensor) \(type.rawValue)" }
    }

    static let tensors = ["t4096_normal", "t4096_heavy", "t11008_mixed", "crafted"]
    static let cases = tensors.flatMap { t in [QuantType.q4_k, .q6_k].map { Case(tensor: t, type: $0) } }

    static func input(_ tensor: String, _ meta: JSONValue) throws -> (values: [Float], cols: Int) {
        let cols = try #require(meta[key: "cols"]?.int), rows = try #require(meta[key: "rows"]?.int)
        if let file = meta[key: "input_file"]?.string {
            let v = QuantFixtures.floats(file)
            try #require(v.count == rows * cols)
            return (v, cols)
        }
        let mode = try #require(FixtureGenerator.Mode(rawValue: meta[key: "mode"]?.string ?? ""))
        let v = FixtureGenerator.generate(
            seed: UInt64(try #require(meta[key: "seed"]?.int)), start: 0,
            count: rows * cols, mode: mode, group: try #require(meta[key: "group"]?.int))
        return (v, cols)
    }

    static func dequantize(_ type: QuantType, _ q: [UInt8], cols: Int, count: Int, ref: Bool = false) throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        try q.withUnsafeBytes { qb in
            try out.withUnsafeMutableBufferPointer {
                ref
                    ? try Quantizer.dequantizeRef(type, blocks: qb, rowLength: cols, into: $0)
                    : try Quantizer.dequantize(type, blocks: qb, rowLength: cols, into: $0)
            }
        }
        return out
    }

    /// VLPack's blocks equal ggml's or have no larger RMSE over the tensor; all kernels agree; and
    /// VLPack dequantizes ggml's blocks exactly as the gguf package does.
    @Test(arguments: cases)
    func matchesOrBeatsGgml(_ c: Case) throws {
        let meta = try #require(QuantFixtures.json("kquant_expected.json")[key: c.tensor])
        let entry = try #require(meta[key: c.type.rawValue])
        let (x, cols) = try Self.input(c.tensor, meta)
        let ggml = QuantFixtures.bytes(try #require(entry[key: "file"]?.string))
        try #require(ggml.count == x.count / 256 * c.type.bytesPerBlock)

        // gguf's dequantization of ggml's blocks, reproduced bit for bit by both dequantizers.
        let ggmlDQ = try Self.dequantize(c.type, ggml, cols: cols, count: x.count)
        #expect(sha256Hex(ggmlDQ) == entry[key: "gguf_dequant_sha256"]?.string)
        #expect(try Self.dequantize(c.type, ggml, cols: cols, count: x.count, ref: true) == ggmlDQ)

        var outputs: [[UInt8]] = []
        for kernel in QuantKernel.allCases {
            var out = [UInt8](repeating: 0, count: ggml.count)
            try x.withUnsafeBufferPointer { xs in
                try out.withUnsafeMutableBytes { try Quantizer.quantize(c.type, rows: xs, rowLength: cols, into: $0, kernel: kernel) }
            }
            outputs.append(out)
        }
        #expect(outputs[1] == outputs[0], "scalar C differs from the reference")
        #expect(outputs[2] == outputs[0], "optimized differs from the reference")

        let ours = try Self.dequantize(c.type, outputs[0], cols: cols, count: x.count)
        let mine = QuantErrorReport.measure(original: x, dequantized: ours, type: c.type)
        let theirs = QuantErrorReport.measure(original: x, dequantized: ggmlDQ, type: c.type)
        let b = c.type.bytesPerBlock, blocks = ggml.count / b
        let equalBlocks = (0..<blocks).filter { outputs[0][($0 * b)..<($0 * b + b)] == ggml[($0 * b)..<($0 * b + b)] }.count
        print(
            "K-quant \(c.testDescription): RMSE VLPack \(mine.rmse) vs ggml \(theirs.rmse) "
                + "(ratio \(theirs.rmse > 0 ? mine.rmse / theirs.rmse : 1)); identical blocks \(equalBlocks)/\(blocks)")
        if outputs[0] != ggml {
            #expect(mine.rmse <= theirs.rmse)
        }
        // Python's RMSE of ggml's blocks (double, same formula) as a cross-check of the fixture.
        if let py = entry[key: "ggml_rmse"]?.double {
            #expect(abs(py - theirs.rmse) <= Tolerance.rmseCrossCheck * max(py, 1e-30))
        }
    }

    /// The refinement only ever keeps strictly better candidates, so per block (not just per
    /// tensor) VLPack's squared error never exceeds ggml's on the random tensors.
    @Test(arguments: [QuantType.q4_k, .q6_k])
    func noBlockWorseThanGgml(_ type: QuantType) throws {
        let meta = try #require(QuantFixtures.json("kquant_expected.json")[key: "t4096_heavy"])
        let (x, cols) = try Self.input("t4096_heavy", meta)
        let ggml = QuantFixtures.bytes(try #require(meta[key: type.rawValue]?[key: "file"]?.string))
        var ours = [UInt8](repeating: 0, count: ggml.count)
        try x.withUnsafeBufferPointer { xs in
            try ours.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: xs, rowLength: cols, into: $0) }
        }
        let a = try Self.dequantize(type, ours, cols: cols, count: x.count)
        let g = try Self.dequantize(type, ggml, cols: cols, count: x.count)
        var worse = 0
        for blk in 0..<(x.count / 256) {
            var ea = 0.0, eg = 0.0
            for i in (blk * 256)..<(blk * 256 + 256) {
                ea += (Double(a[i]) - Double(x[i])) * (Double(a[i]) - Double(x[i]))
                eg += (Double(g[i]) - Double(x[i])) * (Double(g[i]) - Double(x[i]))
            }
            if ea > eg { worse += 1 }
        }
        #expect(worse == 0)
    }
}
