import Foundation
import Testing
import VLCore
import VLPackFormat
import VLQuant
import VLTestSamples
@testable import VLQuantize

/// Tolerances on the sample model's error figures (its weights are random-normal).
enum Tolerance {
    /// Cosine similarity of every quantized tensor, at worst (4-bit types on ≈ N(0, σ) weights give ≈ 0.995).
    static let minCosine = 0.98
    /// Relative L2 error of every quantized tensor, at most.
    static let maxRelativeL2 = 0.2
}

@Suite struct StreamingQuantizerTests {
    /// Chunking and threads never change the bytes: they equal one `Quantizer.quantize` call.
    @Test(arguments: [QuantType.q8_0, .q4_1, .q4_k, .q6_k])
    func chunkingAndThreadsAreByteIdentical(type: QuantType) throws {
        let rows = 37, rowLength = 512
        var rng = SystemRandomNumberGenerator()
        let values = (0..<(rows * rowLength)).map { _ in Float.random(in: -1...1, using: &rng) }
        let f16 = values.map { FloatConversion.float16FromFloat($0) }
        let floats = f16.map { FloatConversion.floatFromFloat16($0) }
        var expected = [UInt8](repeating: 0, count: type.byteCount(elements: floats.count)!)
        try floats.withUnsafeBufferPointer { x in
            try expected.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: x, rowLength: rowLength, into: $0) }
        }
        for (threads, chunk, tile) in [(1, 1 << 20, 1 << 20), (2, 1000, 2048), (2, 7, 512 * 5), (3, 1 << 20, 512)] {
            let q = try StreamingQuantizer(type: type, dtype: .f16, rowLength: rowLength, threads: threads, tileValues: tile)
            var out: [UInt8] = []
            try f16.withUnsafeBytes { all in
                var offset = 0
                while offset < all.count {
                    let n = min(chunk, all.count - offset)
                    try q.consume(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)])) { out += $0 }
                    offset += n
                }
            }
            let report = try q.finish { out += $0 }
            #expect(out == expected, "threads \(threads), chunk \(chunk), tile \(tile)")
            #expect(report.count == floats.count)
            #expect(report.cosineSimilarity > Tolerance.minCosine)
        }
    }

    @Test func refusesPartialRowsAndBadDTypes() throws {
        #expect(throws: QuantError.self) { try StreamingQuantizer(type: .q8_0, dtype: .i32, rowLength: 32, threads: 1) }
        #expect(throws: QuantError.self) { try StreamingQuantizer(type: .q4_k, dtype: .f32, rowLength: 160, threads: 1) }
        let q = try StreamingQuantizer(type: .q8_0, dtype: .f32, rowLength: 32, threads: 1)
        let half = [Float](repeating: 1, count: 16)
        try half.withUnsafeBytes { try q.consume($0) { _ in } }
        #expect(throws: QuantError.self) { try q.finish { _ in } }
    }
}

/// `vlpack quantize` and `convert --quantize` on the whole sample model.
@Suite(.serialized) struct PackQuantizeTests {
    @Test func quantizeRecordsTypesReasonsAndErrors() throws {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Samples.convert(to: "\(dir)/sample.vlpack")
        let input = try VLPackFile(path: "\(dir)/sample.vlpack")
        let session = QuantizationSession(policy: QuantPolicy(recipe: .q4_k_m), threads: 2)
        _ = try session.quantize(input, output: "\(dir)/q4.vlpack")

        let out = try VLPackFile(path: "\(dir)/q4.vlpack")
        #expect(out.verifyIntegrity().isEmpty)
        #expect(out.tensors.map(\.name) == input.tensors.map(\.name))
        #expect(out.parts.components == input.parts.components)
        #expect(out.parts.metadata[key: "quantization"]?[key: "recipe"]?.string == "q4_k_m")
        for t in out.tensors {
            let q = try #require(t.quant, "\(t.name) has no quant record")
            #expect(q[key: "type"]?.string == t.storage.name)
            #expect(q[key: "reason"]?.string?.isEmpty == false)
            if case .blocks = t.storage {
                #expect(q[key: "cosine"]?.double ?? 0 > Tolerance.minCosine, "\(t.name)")
                #expect(q[key: "rel_l2"]?.double ?? 1 < Tolerance.maxRelativeL2, "\(t.name)")
                #expect(q[key: "bpw"]?.double == QuantType(rawValue: t.storage.name)?.bitsPerWeight)
                for key in ["rmse", "max_abs"] { #expect(q[key: key]?.double != nil, "\(t.name) \(key)") }
            }
        }
        #expect(out.tensor(named: "llm.layers.0.attn.q.weight")?.storage == .blocks(.q4_k))
        #expect(out.tensor(named: "llm.lm_head.weight")?.storage == .blocks(.q6_k))
        #expect(out.tensor(named: "vision.encoder.blocks.1.mlp.fc1.weight")?.storage == .blocks(.q8_0))
        #expect(out.tensor(named: "llm.norm.weight")?.storage == input.tensor(named: "llm.norm.weight")?.storage)
        #expect(
            out.bytes(of: out.tensor(named: "tokenizer.model")!).withUnsafeBytes { Array($0) }
                == input.bytes(of: input.tensor(named: "tokenizer.model")!).withUnsafeBytes { Array($0) })

        // Dequantizing the stored blocks reproduces the recorded error.
        let name = "llm.layers.0.mlp.down.weight"
        let qt = try #require(out.tensor(named: name)), ft = try #require(input.tensor(named: name))
        var original = [Float](repeating: 0, count: ft.shape.reduce(1, *)), decoded = original
        try input.bytes(of: ft).withUnsafeBytes { b in
            try original.withUnsafeMutableBufferPointer { try SourceConversion.floats(from: b, dtype: .f16, into: $0) }
        }
        try out.bytes(of: qt).withUnsafeBytes { b in
            try decoded.withUnsafeMutableBufferPointer { try Quantizer.dequantize(.q4_k, blocks: b, rowLength: qt.shape[1], into: $0) }
        }
        let measured = QuantErrorReport.measure(original: original, dequantized: decoded, type: .q4_k)
        #expect(abs(measured.rmse - (qt.quant?[key: "rmse"]?.double ?? 0)) <= 1e-5 * measured.rmse)

        let report = session.report
        let llm = try #require(report.components.first { $0.component == "llm" })
        #expect(llm.types.map(\.type) == [.q4_k, .q6_k])
        #expect(report.summaryLines().count == report.components.count)
        #expect(report.json()[key: "tensors"]?.array?.count == out.tensors.count)
    }

    /// Straight from checkpoints, through the converter's hook: the same bytes as convert-then-quantize.
    @Test func convertQuantizeEqualsQuantizeAfterConvert() throws {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Samples.convert(to: "\(dir)/sample.vlpack")
        _ = try QuantizationSession(policy: QuantPolicy(recipe: .q4_k_m), threads: 2)
            .quantize(try VLPackFile(path: "\(dir)/sample.vlpack"), output: "\(dir)/a.vlpack")
        let direct = QuantizationSession(policy: QuantPolicy(recipe: .q4_k_m), threads: 2)
        _ = try Samples.convert(to: "\(dir)/b.vlpack", encoding: direct)
        let a = try VLPackFile(path: "\(dir)/a.vlpack"), b = try VLPackFile(path: "\(dir)/b.vlpack")
        #expect(b.verifyIntegrity().isEmpty)
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) {
            #expect(x.storage == y.storage, "\(x.name)")
            #expect(x.crc32 == y.crc32, "\(x.name)")
            // The converter appends the tokenizer itself, without a quant record.
            if x.name != "tokenizer.model" { #expect(x.quant == y.quant, "\(x.name)") }
        }
        #expect(direct.results.count == b.tensors.count - 1)  // all but the tokenizer
    }
}
