import Testing
import VLCore
@testable import VLQuant

/// Q8_0 / Q4_0 / Q4_1 must reproduce the gguf package's bytes exactly.
@Suite struct BitExactTests {
    static let basicTypes: [QuantType] = [.q8_0, .q4_0, .q4_1]
    /// Blocks per generated chunk (bounded memory; the Python side hashes the same stream).
    static let chunkBlocks = 1 << 16

    /// ≥ 1 M random blocks through every kernel: SHA-256 of the bytes equals the gguf package's, and
    /// the first blocks equal the committed bytes; dequantization hashes equal gguf's too.
    @Test(arguments: basicTypes)
    func millionBlocksMatchGguf(_ type: QuantType) throws {
        let meta = QuantFixtures.json("basic_expected.json")
        let gen = try #require(meta[key: "generator"])
        let seed = UInt64(try #require(gen[key: "seed"]?.int))
        let total = try #require(gen[key: "blocks"]?.int)
        let expected = try #require(meta[key: "types"]?[key: type.rawValue])
        #expect(total >= 1_000_000)

        let sample = QuantFixtures.bytes("basic_first4096_\(type.rawValue.lowercased()).bin")
        var hashers = QuantKernel.allCases.map { _ in SHA256() }
        var dqRef = SHA256(), dqOpt = SHA256()
        var mismatchedBlocks = 0
        for start in stride(from: 0, to: total, by: Self.chunkBlocks) {
            let x = FixtureGenerator.generate(seed: seed, start: start * 32, count: Self.chunkBlocks * 32, mode: .mixed, group: 32)
            var outputs: [[UInt8]] = []
            for (k, kernel) in QuantKernel.allCases.enumerated() {
                var out = [UInt8](repeating: 0, count: Self.chunkBlocks * type.bytesPerBlock)
                try x.withUnsafeBufferPointer { xs in
                    try out.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: xs, rowLength: 32, into: $0, kernel: kernel) }
                }
                out.withUnsafeBytes { hashers[k].update($0) }
                outputs.append(out)
            }
            if start == 0 {
                let firstBlocks = Array(outputs[2].prefix(sample.count))
                if firstBlocks != sample {
                    let b = type.bytesPerBlock
                    let bad = (0..<(sample.count / b)).first { firstBlocks[($0 * b)..<($0 * b + b)] != sample[($0 * b)..<($0 * b + b)] }
                    Issue.record("first mismatching sample block: \(bad.map(String.init) ?? "?")")
                }
            }
            for k in 1..<outputs.count where outputs[k] != outputs[0] { mismatchedBlocks += 1 }
            var dq = [Float](repeating: 0, count: x.count), dq2 = dq
            try outputs[2].withUnsafeBytes { q in
                try dq.withUnsafeMutableBufferPointer { try Quantizer.dequantize(type, blocks: q, rowLength: 32, into: $0) }
                try dq2.withUnsafeMutableBufferPointer { try Quantizer.dequantizeRef(type, blocks: q, rowLength: 32, into: $0) }
            }
            dq.withUnsafeBytes { dqOpt.update($0) }
            dq2.withUnsafeBytes { dqRef.update($0) }
        }
        let want = expected[key: "quant_sha256"]?.string
        for k in hashers.indices {
            #expect(hashers[k].finalizeHex() == want, "kernel \(QuantKernel.allCases[k])")
        }
        #expect(mismatchedBlocks == 0, "chunks where kernels disagree")
        let wantDQ = expected[key: "dequant_sha256"]?.string
        #expect(dqOpt.finalizeHex() == wantDQ)
        #expect(dqRef.finalizeHex() == wantDQ)
    }

    /// Crafted ties (values on and next to the .5 rounding boundaries after the f32 x·id), equal
    /// and zero blocks, lone outliers, ± maxima in both orders, f16 overflow/underflow of d, f32
    /// subnormals: committed inputs and the gguf package's bytes.
    @Test(arguments: basicTypes)
    func craftedBlocksMatchGguf(_ type: QuantType) throws {
        let x = QuantFixtures.floats("crafted_input.f32")
        let want = QuantFixtures.bytes("crafted_\(type.rawValue.lowercased()).bin")
        try #require(x.count % 32 == 0 && want.count == x.count / 32 * type.bytesPerBlock)
        for kernel in QuantKernel.allCases {
            var out = [UInt8](repeating: 0, count: want.count)
            try x.withUnsafeBufferPointer { xs in
                try out.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: xs, rowLength: 32, into: $0, kernel: kernel) }
            }
            let b = type.bytesPerBlock
            let bad = (0..<(x.count / 32)).filter { out[($0 * b)..<($0 * b + b)] != want[($0 * b)..<($0 * b + b)] }
            #expect(bad.isEmpty, "\(kernel): blocks \(bad.prefix(10))")
        }
        let meta = QuantFixtures.json("basic_expected.json")
        let wantDQ = meta[key: "types"]?[key: type.rawValue]?[key: "crafted"]?[key: "dequant_sha256"]?.string
        for ref in [false, true] {
            var dq = [Float](repeating: 0, count: x.count)
            try want.withUnsafeBytes { q in
                try dq.withUnsafeMutableBufferPointer {
                    ref
                        ? try Quantizer.dequantizeRef(type, blocks: q, rowLength: 32, into: $0)
                        : try Quantizer.dequantize(type, blocks: q, rowLength: 32, into: $0)
                }
            }
            #expect(sha256Hex(dq) == wantDQ, "reference dequantizer: \(ref)")
        }
    }
}
