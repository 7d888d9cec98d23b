import Foundation
import Logging
import Testing
import VLCheckpoint
import VLConvert
import VLCore
import VLPackFormat

/// Meta ↔ HF: one tiny LLaMA-2-style model in Meta's form (2 model-parallel shards) and the HF form
/// that transformers' own `convert_llama_weights_to_hf.write_model` derived from it
/// (Fixtures/meta_hf/generate.py, README.md). Both must convert to the same canonical tensors.
///
/// transformers' script saves bfloat16 while the Meta shards are float16 (every value is exact in
/// both), so the byte comparison is made under each output dtype rule that gives both sides one dtype.
@Suite("Meta ↔ HF LLaMA")
struct MetaHFTests {
    static let folder = Paths.fixture("meta_hf")
    static var meta: String { folder + "/meta" }
    static var hf: String { folder + "/hf" }

    static func json(_ name: String) throws -> JSONValue {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        return try data.withUnsafeBytes { try JSONValue.parse($0) }
    }

    /// A converted file, read back: sha256 of every tensor, its source tensor, the llm config.
    struct Converted {
        let file: VLPackFile
        var hashes: [String: String] = [:]
        var dtypes: [String: String] = [:]
        var sources: [String: String] = [:]
        let config: JSONValue

        init(path: String) throws {
            file = try VLPackFile(path: path)
            for t in file.tensors {
                hashes[t.name] = file.bytes(of: t).withUnsafeBytes { SHA256.hex(of: $0) }
                dtypes[t.name] = "\(t.storage)"
                sources[t.name] = t.source?.name
            }
            config = file.parts.components[key: "llm"]?[key: "config"] ?? .null
        }
    }

    static func convert(_ input: String, dtype: ConversionPlan.DTypeRule) throws -> Converted {
        let out = (try Paths.scratch("metahf") as NSString).appendingPathComponent("out.vlpack")
        defer { try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        _ = try VLConvertTests.convert([input], output: out) { $0.dtype = dtype }
        return try Converted(path: out)
    }

    @Test(
        "Meta shards and transformers' HF conversion give byte-identical canonical tensors",
        arguments: [ConversionPlan.DTypeRule.f32, .f16, .bf16])
    func identicalCanonicalTensors(dtype: ConversionPlan.DTypeRule) throws {
        let meta = try Self.convert(Self.meta, dtype: dtype)
        let hf = try Self.convert(Self.hf, dtype: dtype)

        #expect(Set(meta.hashes.keys) == Set(hf.hashes.keys))
        let llm = meta.hashes.keys.filter { $0.hasPrefix("llm.") }
        // embed, 2 × (q k v o gate up down attn_norm ffn_norm), norm, lm_head
        #expect(llm.count == 2 + 2 * 9 + 1)
        #expect(meta.hashes.keys.contains("tokenizer.model"))
        for name in meta.hashes.keys.sorted() {
            #expect(meta.dtypes[name] == hf.dtypes[name], "\(name): dtype")
            #expect(meta.hashes[name] == hf.hashes[name], "\(name): bytes differ between the Meta and HF conversions")
        }
        for key in ["hidden", "layers", "heads", "intermediate", "vocab", "head_dim"] {
            #expect(meta.config[key: key]?.int != nil && meta.config[key: key]?.int == hf.config[key: key]?.int, "\(key)")
        }
        #expect(meta.config[key: "hidden"]?.int == 256)
        #expect(meta.config[key: "layers"]?.int == 2)
        #expect(meta.config[key: "heads"]?.int == 4)
        #expect(meta.config[key: "intermediate"]?.int == 768)
        #expect(meta.config[key: "vocab"]?.int == 512)
        #expect(meta.config[key: "norm_eps"]?.double == 1e-5)
        #expect(hf.config[key: "norm_eps"]?.double == 1e-5)
    }

    /// The HF side against torch's own hashes (manifest.json): with dtype kept, every canonical
    /// tensor holds exactly the bytes of the HF tensor it came from, and every HF tensor is used.
    @Test func hfConversionMatchesTorchManifest() throws {
        let manifest = try Self.json("manifest.json")
        var expected: [String: (sha: String, dtype: String)] = [:]
        for e in manifest[key: "hf"]?.array ?? [] {
            if let name = e[key: "name"]?.string, let sha = e[key: "sha256"]?.string, let dtype = e[key: "dtype"]?.string {
                expected[name] = (sha, dtype)
            }
        }
        #expect(expected.count == 2 + 2 * 9 + 1)

        let hf = try Self.convert(Self.hf, dtype: .keep)
        var used: Set<String> = []
        for (name, sha) in hf.hashes where name.hasPrefix("llm.") {
            guard let source = hf.sources[name], let want = expected[source] else {
                Issue.record("\(name): source \(hf.sources[name] ?? "nil") is not in the manifest")
                continue
            }
            used.insert(source)
            #expect(sha == want.sha, "\(name) ← \(source)")
            #expect(want.dtype == "BF16", "transformers' write_model saves bfloat16")
        }
        #expect(used == Set(expected.keys))

        // The Meta side keeps float16: its replicated tensors (norms) are the manifest's shard-0 bytes.
        let meta = try Self.convert(Self.meta, dtype: .keep)
        var shard0: [String: String] = [:]
        for e in manifest[key: "meta"]?.array ?? [] where e[key: "file"]?.string == "consolidated.00.pth" {
            if let name = e[key: "name"]?.string, let sha = e[key: "sha256"]?.string { shard0[name] = sha }
        }
        let norms = [
            "llm.norm.weight": "norm.weight",
            "llm.layers.0.attn_norm.weight": "layers.0.attention_norm.weight",
            "llm.layers.1.ffn_norm.weight": "layers.1.ffn_norm.weight",
        ]
        for (canonical, source) in norms {
            #expect(meta.hashes[canonical] != nil && meta.hashes[canonical] == shard0[source], "\(canonical)")
        }
    }

    /// The committed numerical evidence: Meta's complex-pair RoPE on the Meta weights and
    /// transformers' rotate-half RoPE on the HF weights give the same attention and logits (f32).
    @Test func ropeConventionsAgree() throws {
        let r = try Self.json("rope_check.json")
        let tolerance = try #require(r[key: "tolerance_rel"]?.double)
        #expect(tolerance <= 1e-5)
        for key in ["layer0_attention", "logits"] {
            let rel = try #require(r[key: key]?[key: "rel"]?.double, "\(key)")
            #expect(rel <= tolerance, "\(key): rel \(rel)")
            #expect((r[key: key]?[key: "max_ref"]?.double ?? 0) > 0.1, "\(key): reference is not trivially small")
        }
        // The control (HF q/k fed to the Meta convention) must differ: the check can tell them apart.
        let control = try #require(r[key: "control_hf_qk_in_meta_convention"]?[key: "rel"]?.double)
        #expect(control > 1e-2)
    }
}
