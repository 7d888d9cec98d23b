import Foundation
import Testing
import VLCore
import VLPackFormat
import VLQuantize
import VLTestSamples
import VLTestSupport
@testable import VLGGUF

/// A minimal GGUF v3 reader for the tests: metadata keys in order, tensor infos and data.
struct GGUFFile {
    struct Tensor { let name: String; let dims: [Int]; let type: UInt32; let offset: Int }
    var keys: [String] = []
    var scalars: [String: Int] = [:]
    var strings: [String: String] = [:]
    var tensors: [Tensor] = []
    var dataStart = 0
    let bytes: [UInt8]

    init(path: String) throws {
        bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var o = 0
        func u32() -> UInt32 { defer { o += 4 }; return bytes[o..<(o + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
        func u64() -> Int { defer { o += 8 }; return Int(bytes[o..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) }
        func str() -> String { let n = u64(); defer { o += n }; return String(decoding: bytes[o..<(o + n)], as: UTF8.self) }
        func skip(_ type: UInt32) {
            switch type {
            case 0, 1, 7: o += 1
            case 2, 3: o += 2
            case 4, 5, 6: o += 4
            case 10, 11, 12: o += 8
            case 8: _ = str()
            default:
                let t = u32(), n = u64()
                for _ in 0..<n { skip(t) }
            }
        }
        #expect(u32() == 0x4655_4747)
        #expect(u32() == 3)
        let (nt, nkv) = (u64(), u64())
        for _ in 0..<nkv {
            let key = str(), type = u32()
            keys.append(key)
            switch type {
            case 4: scalars[key] = Int(u32())
            case 8: strings[key] = str()
            default: skip(type)
            }
        }
        for _ in 0..<nt {
            let name = str(), n = Int(u32())
            let dims = (0..<n).map { _ in u64() }
            tensors.append(Tensor(name: name, dims: dims, type: u32(), offset: u64()))
        }
        dataStart = (o + 31) / 32 * 32
    }

    func data(_ t: Tensor, count: Int) -> ArraySlice<UInt8> { bytes[(dataStart + t.offset)..<(dataStart + t.offset + count)] }
}

@Suite(.serialized) struct GGUFExportTests {
    static let fixture = "\(Samples.root)/../gguf/sample-llm-f16.json"
    static let typeNames: [UInt32: String] = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 8: "Q8_0", 12: "Q4_K", 14: "Q6_K", 30: "BF16"]

    /// The f16 export has exactly the tensors (names, types, shapes, bytes) llama.cpp's own
    /// convert_hf_to_gguf.py writes for the sample LLM (Fixtures/gguf/sample-llm-f16.json).
    @Test func f16ExportMatchesLlamaCppConverter() throws {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Samples.convert(to: "\(dir)/sample.vlpack")
        try GGUFExporter(file: VLPackFile(path: "\(dir)/sample.vlpack")).export(to: "\(dir)/llm.gguf")
        let gguf = try GGUFFile(path: "\(dir)/llm.gguf")
        let expected = try JSONValue.parse(String(contentsOfFile: Self.fixture, encoding: .utf8))
        let want = try #require(expected[key: "tensors"]?.array)
        #expect(gguf.tensors.count == want.count)
        for w in want {
            let name = try #require(w[key: "name"]?.string)
            let t = try #require(gguf.tensors.first { $0.name == name }, "\(name) missing")
            let type = try #require(Self.typeNames[t.type])
            #expect(type == w[key: "type"]?.string, "\(name)")
            #expect(t.dims == w[key: "shape"]?.array?.compactMap(\.int), "\(name)")
            let count = try #require(GGMLType(rawValue: t.type)?.storage.byteCount(shape: t.dims.reversed()))
            #expect(gguf.data(t, count: count).withUnsafeBytes { SHA256.hex(of: $0) } == w[key: "sha256"]?.string, "\(name)")
        }
        for key in ["general.architecture", "tokenizer.ggml.model", "tokenizer.ggml.pre"] {
            #expect(gguf.strings[key] == expected[key: "metadata"]?[key: key]?.string, "\(key)")
        }
        for key in [
            "llama.block_count", "llama.context_length", "llama.embedding_length", "llama.feed_forward_length",
            "llama.rope.dimension_count", "llama.attention.head_count", "llama.attention.head_count_kv",
            "general.file_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "llama.vocab_size",
        ] {
            #expect(gguf.scalars[key] == expected[key: "metadata"]?[key: key]?.int, "\(key)")
        }
    }

    /// Quantized blocks are copied (q/k as whole permuted rows), norms become F32, the file type is the recipe's.
    @Test func quantizedExportCopiesBlocks() throws {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Samples.convert(to: "\(dir)/sample.vlpack")
        _ = try QuantizationSession(policy: QuantPolicy(recipe: .q4_k_m), threads: 2)
            .quantize(VLPackFile(path: "\(dir)/sample.vlpack"), output: "\(dir)/q.vlpack")
        let pack = try VLPackFile(path: "\(dir)/q.vlpack")
        let entries = try GGUFExporter(file: pack).export(to: "\(dir)/llm.gguf")
        let gguf = try GGUFFile(path: "\(dir)/llm.gguf")
        #expect(gguf.scalars["general.file_type"] == 15)
        #expect(entries.filter { $0.type == .q4_k }.count == 12 && entries.filter { $0.type == .q6_k }.count == 4)
        for e in entries {
            let t = try #require(gguf.tensors.first { $0.name == e.name })
            let src = try #require(pack.tensor(named: e.source))
            let out = Array(gguf.data(t, count: GGMLType(rawValue: t.type)!.storage.byteCount(shape: t.dims.reversed())!))
            let original = pack.bytes(of: src).withUnsafeBytes { Array($0) }
            if src.shape.count == 1 {
                #expect(e.type == .f32)
            } else if e.name.hasSuffix("attn_q.weight") || e.name.hasSuffix("attn_k.weight") {
                let rowBytes = original.count / src.shape[0], headDim = src.shape[0] / 4
                for r in 0..<src.shape[0] {
                    let from = RotaryPermutationCheck.hfRow(r, headDim) * rowBytes
                    #expect(out[(r * rowBytes)..<((r + 1) * rowBytes)] == original[from..<(from + rowBytes)])
                }
            } else {
                #expect(out == original, "\(e.name)")
            }
        }
    }

    /// Embedding rows beyond the SentencePiece pieces (Vicuna v0: 32001 rows, 32000 pieces).
    @Test func vocabularyIsPaddedToTheEmbeddingRows() throws {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Samples.convert(to: "\(dir)/sample.vlpack")
        let exporter = try GGUFExporter(file: VLPackFile(path: "\(dir)/sample.vlpack"))
        let config = try #require(exporter.file.parts.components[key: "llm"]?[key: "config"])
        let kv = try exporter.metadata(
            hidden: 256, layers: 2, heads: 4, kvHeads: 4, headDim: 64, intermediate: 768,
            vocabRows: 514, config: config, fileType: 1)
        let value = { (key: String) in kv.first { $0.key == key }?.value }
        guard case let .strings(tokens)? = value("tokenizer.ggml.tokens"), case let .float32s(scores)? = value("tokenizer.ggml.scores"),
            case let .int32s(types)? = value("tokenizer.ggml.token_type")
        else { Issue.record("tokenizer arrays missing"); return }
        #expect(tokens.count == 514 && scores.count == 514 && types.count == 514)
        #expect(Array(tokens[512...]) == ["[PAD]", "[PAD513]"])
        #expect(Array(scores[512...]) == [-1000, -10000])
        #expect(Array(types[512...]) == [4, 5])
        #expect(throws: (any Error).self) {
            try exporter.metadata(
                hidden: 256, layers: 2, heads: 4, kvHeads: 4, headDim: 64, intermediate: 768,
                vocabRows: 500, config: config, fileType: 1)
        }
    }

    /// Reads the export back with the `gguf` Python package when one is available
    /// (`VLPACK_PYTHON`, else `python3`), comparing with the same fixture.
    @Test(.enabled(if: PythonGGUF.interpreter != nil)) func ggufPackageReadsTheExport() throws {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Samples.convert(to: "\(dir)/sample.vlpack")
        try GGUFExporter(file: VLPackFile(path: "\(dir)/sample.vlpack")).export(to: "\(dir)/llm.gguf")
        let summary = try JSONValue.parse(PythonGGUF.run(["\(Samples.root)/../gguf/summarize.py", "\(dir)/llm.gguf"]))
        let expected = try JSONValue.parse(String(contentsOfFile: Self.fixture, encoding: .utf8))
        let byName = { (v: JSONValue) in Dictionary(uniqueKeysWithValues: (v[key: "tensors"]?.array ?? []).map { ($0[key: "name"]!.string!, $0) }) }
        #expect(byName(summary) == byName(expected))
        for key in ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "llama.attention.layer_norm_rms_epsilon"] {
            #expect(summary[key: "metadata"]?[key: key] == expected[key: "metadata"]?[key: key], "\(key)")
        }
    }
}

/// Independent restatement of HF→interleaved row order for the test (HF row h·hd + c·hd/2 + i
/// holds interleaved row h·hd + 2i + c).
enum RotaryPermutationCheck {
    static func hfRow(_ r: Int, _ hd: Int) -> Int { (r / hd) * hd + (r % hd % 2) * (hd / 2) + (r % hd) / 2 }
}

enum PythonGGUF {
    static let interpreter: String? = {
        let candidates = [ProcessInfo.processInfo.environment["VLPACK_PYTHON"], "/usr/bin/env"].compactMap { $0 }
        for c in candidates {
            let args = c == "/usr/bin/env" ? ["python3", "-c", "import gguf"] : ["-c", "import gguf"]
            if (try? runProcess(c, args)) != nil { return c }
        }
        return nil
    }()

    static func run(_ args: [String]) throws -> String {
        let exe = interpreter!
        return try runProcess(exe, exe == "/usr/bin/env" ? ["python3"] + args : args)
    }

    static func runProcess(_ exe: String, _ args: [String]) throws -> String {
        let r = try Subprocess.run(exe, args)
        guard r.status == 0 else { throw CocoaError(.executableLoad) }
        return r.stdout
    }
}
