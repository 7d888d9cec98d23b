import Foundation
import Testing
import VLCore
import VLVerify
import VLSafetensors

/// `vlpack verify --reference` through the executable: the sample model against the committed
/// reference, a corrupted reference, and argument validation.
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"), .serialized)
struct VerifyReferenceTests {
    static let reference = "Fixtures/reference/sample_vision.safetensors"
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-verify-\(getpid())").path

    /// The vision samples converted by the CLI itself.
    static let model: String = {
        let out = "\(folder)/sample.vlpack"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let s = "Fixtures/samples"
        _ = try? CLI.run([
            "convert", "\(s)/eva_vit_g.pth", "\(s)/blip2_pretrained_flant5xxl.pth", "\(s)/VL_tiny.pth",
            "--config", "\(s)/convert-config.json", "-o", out,
        ])
        return out
    }()

    static func parse(_ text: String) throws -> JSONValue {
        try text.utf8CString.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
    }

    @Test func sampleModelPassesEveryStage() throws {
        let r = try CLI.run(["verify", Self.model, "--reference", Self.reference, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try Self.parse(r.stdout)
        let stages = try #require(json[key: "stages"]?.array)
        #expect(stages.count == 9)  // 5 stages from their own inputs + 4 chained
        for s in stages {
            #expect(s[key: "pass"]?.bool == true)
            #expect(s[key: "tolerance"]?[key: "name"]?.string == "float")
            #expect((s[key: "rel_l2"]?.double ?? 1) <= Tolerance.float.maxRelL2!)
            #expect(s[key: "max_abs"]?.double != nil && s[key: "cosine"]?.double != nil)
        }
        let names = stages.compactMap { $0[key: "name"]?.string }
        #expect(names.contains("vision.encoder.out") && names.contains("video.out (chained)"))

        let text = try CLI.run(["verify", Self.model, "--reference", Self.reference])
        #expect(text.status == 0)
        #expect(text.stdout.contains("PASS") && !text.stdout.contains("FAIL"))
    }

    @Test func aWrongReferenceFailsWithNonZeroExit() throws {
        // The committed reference with `video.out` scaled by 1.01: that stage (own input and chained) FAILs.
        let source = try SafetensorsFile(path: CLI.root.appendingPathComponent(Self.reference).path)
        let path = "\(Self.folder)/wrong.safetensors"
        var writer = SafetensorsWriter(path: path)
        for e in source.entries {
            var bytes = try source.bytes(of: e).withUnsafeBytes { Array($0) }
            if e.name == "video.out" {
                bytes.withUnsafeMutableBytes { raw in
                    for i in 0..<(raw.count / 4) {
                        raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: i * 4, as: Float.self) * 1.01, toByteOffset: i * 4, as: Float.self)
                    }
                }
            }
            try writer.add(name: e.name, dtype: e.dtype, shape: e.shape, contents: bytes)
        }
        try writer.finish()
        let r = try CLI.run(["verify", Self.model, "--reference", path, "--json"])
        #expect(r.status != 0)
        let stages = try #require(try Self.parse(r.stdout)[key: "stages"]?.array)
        let failed = stages.filter { $0[key: "pass"]?.bool == false }.compactMap { $0[key: "name"]?.string }
        #expect(failed == ["video.out", "video.out (chained)"])
    }

    /// The sample quantized with q4_k_m by the CLI.
    static let q4Model: String = {
        let out = "\(folder)/sample-q4_k_m.vlpack"
        _ = try? CLI.run(["quantize", model, "-o", out, "--type", "q4_k_m"])
        return out
    }()

    /// `reference` without the tensors named in `dropping`, written to `name`.
    static func referenceWithout(_ dropping: Set<String>, name: String) throws -> String {
        let source = try SafetensorsFile(path: CLI.root.appendingPathComponent(reference).path)
        let path = "\(folder)/\(name)"
        var writer = SafetensorsWriter(path: path)
        for e in source.entries where !dropping.contains(e.name) {
            try writer.add(name: e.name, dtype: e.dtype, shape: e.shape, contents: try source.bytes(of: e).withUnsafeBytes { Array($0) })
        }
        try writer.finish()
        return path
    }

    @Test func quantizedWeightsAreJudgedAtVideoOut() throws {
        let r = try CLI.run(["verify", Self.q4Model, "--reference", Self.reference, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let stages = try #require(try Self.parse(r.stdout)[key: "stages"]?.array)
        #expect(stages.count == 9)
        for s in stages {
            let name = s[key: "name"]?.string ?? ""
            let judged = s[key: "tolerance"]?[key: "judged"]?.bool ?? true
            let float = s[key: "tolerance"]?[key: "name"]?.string == "float"
            // Judged: ln_vision alone (float weights) and video.out; the other quantized stages are reported.
            #expect(judged == (float || name.hasPrefix("video.out")), "\(name)")
            #expect(s[key: "pass"]?.bool == true, "\(name)")
        }
        let text = try CLI.run(["verify", Self.q4Model, "--reference", Self.reference])
        #expect(text.stdout.contains("REPORT") && text.stdout.contains("all 3 judged stages PASS"))
    }

    @Test func quantizedWeightsWithoutVideoOutInTheReferenceFail() throws {
        let path = try Self.referenceWithout(["video.out"], name: "no-video-out.safetensors")
        let r = try CLI.run(["verify", Self.q4Model, "--reference", path])
        #expect(r.status != 0)
        #expect(r.stdout.contains("storage loss not judged"))
        // Float weights are judged at every stage, so the same reference suffices for them.
        #expect(try CLI.run(["verify", Self.model, "--reference", path]).status == 0)
    }

    @Test func integrityAndReferenceTogether() throws {
        let r = try CLI.run(["verify", Self.model, "--integrity", "--reference", Self.reference, "--json"])
        #expect(r.status == 0)
        let json = try Self.parse(r.stdout)
        #expect(json[key: "ok"]?.bool == true && json[key: "pass"]?.bool == true)
    }

    @Test func somethingToVerifyIsRequired() throws {
        let r = try CLI.run(["verify", Self.model])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--integrity") && r.stderr.contains("--reference"))
    }

    /// The sample LLM against transformers' logits and greedy ids: float weights judged and passing;
    /// q4_k_m judged by the llm_q4_k_m mean-KL rule (greedy ids reported).
    @Test func sampleLLMPassesAndQuantizedIsJudgedByKL() throws {
        try FileManager.default.createDirectory(atPath: Self.folder, withIntermediateDirectories: true)
        let llm = "\(Self.folder)/llm.vlpack", q4 = "\(Self.folder)/llm-q4_k_m.vlpack"
        try #require(try CLI.run(["convert", "Fixtures/samples/llama-hf", "-o", llm]).status == 0)
        try #require(try CLI.run(["quantize", llm, "-o", q4, "--type", "q4_k_m"]).status == 0)
        let reference = "Fixtures/reference/sample_llm.safetensors"
        let float = try CLI.run(["verify", llm, "--reference", reference, "--json"])
        #expect(float.status == 0, "\(float.stderr)")
        let f = try Self.parse(float.stdout)[key: "llm"]
        #expect(f?[key: "greedy_equal"] == true && f?[key: "pass"] == true)
        #expect((f?[key: "rel_l2"]?.double ?? 1) <= Tolerance.float.maxRelL2!)
        #expect(f?[key: "top1_agreement"]?.double == 1)
        let quantized = try CLI.run(["verify", q4, "--reference", reference, "--json"])
        #expect(quantized.status == 0, "\(quantized.stderr)")
        let q = try Self.parse(quantized.stdout)[key: "llm"]
        #expect(q?[key: "tolerance"]?[key: "name"]?.string == "llm_q4_k_m")
        let kl = q?[key: "mean_kl"]?.double ?? 0
        #expect(kl > 0 && kl <= Tolerance.llmQ4KM.maxMeanKL!, "mean KL \(kl)")
        #expect(q?[key: "pass"] == true)
    }
}
