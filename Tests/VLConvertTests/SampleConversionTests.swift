import Foundation
import Testing
import VLCheckpoint
import VLConvert
import VLCore
import VLPackFormat
import VLTestSupport

/// The bundled sample models, converted together into one `.vlpack` file.
@Suite struct SampleConversionTests {
    static let converted: Result<(path: String, file: VLPackFile), any Error> = Result {
        let dir = try Paths.scratch("samples")
        let path = (dir as NSString).appendingPathComponent("sample.vlpack")
        let overrides = try sampleOverrides()
        let file = try convert(sampleInputs, output: path) { $0.configOverrides = overrides }
        return (path, file)
    }

    /// `inspect --json --hash` of the sample checkpoints, computed by torch (Fixtures/generate.py).
    static let sourceHashes: [String: [String: String]] = {
        let file = try? MappedFile(path: Paths.fixture("samples/manifest.json"))
        let manifest = file.flatMap { try? JSONValue.parse($0.bytes) } ?? .null
        var out: [String: [String: String]] = [:]
        for f in manifest[key: "fixtures"]?.array ?? [] {
            let path = Paths.fixture(f[key: "path"]?.string ?? "")
            for t in f[key: "tensors"]?.array ?? [] {
                out[path, default: [:]][t[key: "name"]?.string ?? ""] = t[key: "sha256"]?.string
            }
        }
        return out
    }()

    @Test func everyComponentIsPresentAndIntact() throws {
        let (_, file) = try Self.converted.get()
        let families = (file.parts.components.objectEntries ?? []).map { ($0.key, $0.value[key: "family"]?.string ?? "") }
        #expect(families.map(\.0) == ["eva_vit", "blip2_qformer", "video_branch", "imagebind_audio", "audio_branch", "llm"])
        #expect(file.verifyIntegrity().isEmpty)
        #expect(file.parts.metadata[key: "template"]?.string == "vicuna")
        #expect(file.tensor(named: "tokenizer.model") != nil)
    }

    /// Each kept tensor's canonical bytes equal what torch saw in the source checkpoint.
    @Test func canonicalTensorsCarryTheSourceBytes() throws {
        let (_, file) = try Self.converted.get()
        var checked = 0
        for t in file.tensors where t.name != "tokenizer.model" {
            let source = try #require(t.source)
            // The manifest lists shard files under their folder.
            let want = Self.sourceHashes.first { source.file == $0.key || source.file.hasPrefix($0.key + "/") }?.value[source.name]
            #expect(want != nil, "\(t.name): no manifest entry for \(source.name)")
            #expect(file.bytes(of: t).withUnsafeBytes { SHA256.hex(of: $0) } == want, "\(t.name) ← \(source.name)")
            checked += 1
        }
        #expect(checked == file.tensors.count - 1)
    }

    @Test func exportWithSourceNamesReproducesTheSourceTensors() throws {
        let (_, file) = try Self.converted.get()
        let out = try Paths.scratch("export")
        let paths = try Exporter(file: file, maps: try ModelMap.bundled()).exportSafetensors(to: out, names: .source)
        #expect(paths.count == 6)
        var compared = 0
        for path in paths {
            let exported = try Checkpoint.open(path)
            for entry in exported.entries where entry.name != "tokenizer.model" {
                let digest = try exported.bytes(of: entry).withUnsafeBytes { SHA256.hex(of: $0) }
                let known = Self.sourceHashes.values.contains { $0[entry.name] == digest }
                #expect(known, "\(path): \(entry.name) differs from its source")
                compared += 1
            }
        }
        #expect(compared == file.tensors.count - 1)
    }

    @Test func skippedItemsAreReportedWithReasons() throws {
        let (_, file) = try Self.converted.get()
        let skipped = file.parts.metadata[key: "skipped"]?.array ?? []
        func reason(_ name: String) -> String? { skipped.first { $0[key: "name"]?.string == name }?[key: "reason"]?.string }
        #expect(reason("model.t5_proj.weight")?.contains("FlanT5") == true)
        #expect(reason("blocks.2.attn.qkv.weight")?.contains("beyond the configured depth") == true)
        #expect(reason("norm.weight") != nil)
        #expect(reason("model.Qformer.bert.embeddings.position_ids")?.contains("buffer") == true)
        #expect(reason("modality_trunks.vision.blocks.0.attn.in_proj_weight")?.contains("unused ImageBind tower") == true)
        #expect(reason("optimizer.state.0.exp_avg")?.contains("trainer state") == true)
        #expect(reason("config")?.contains("not a tensor") == true)
        #expect(reason("model.layers.0.self_attn.rotary_emb.inv_freq")?.contains("RoPE") == true)
    }

    /// The stdlib+numpy reader written from Formats/VLPACK.md reads the same tensors and bytes.
    @Test(.enabled(if: PythonReader.available, "python3 with numpy is needed"))
    func pythonReaderAgrees() throws {
        let (path, file) = try Self.converted.get()
        let listing = try PythonReader.list(path)
        #expect(listing.count == file.tensors.count)
        for (row, t) in zip(listing, file.tensors) {
            #expect(row[key: "name"]?.string == t.name)
            #expect(row[key: "sha256"]?.string == file.bytes(of: t).withUnsafeBytes { SHA256.hex(of: $0) })
        }
    }
}

enum PythonReader {
    static let available: Bool = (try? Subprocess.python3(["-c", "import numpy"]).status) == 0

    static func list(_ path: String) throws -> [JSONValue] {
        let r = try Subprocess.python3([Paths.root.appendingPathComponent("Formats/vlpack_reader.py").path, "--list", "--json", "--hash", path])
        return try JSONValue.parse(r.stdout).array ?? []
    }
}
