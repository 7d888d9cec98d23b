import Foundation
import Testing
import VLCore
import VLVerify

/// The audio branch through the executable: `verify --reference` against the committed audio
/// reference (float and q4_k_m), and `bench audio`.
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"), .serialized)
struct AudioCommandTests {
    static let reference = "Fixtures/reference/sample_audio.safetensors"

    /// The audio samples (ImageBind audio tower + AL branch) converted by the CLI itself.
    static let model: String = {
        let out = "\(VerifyReferenceTests.folder)/sample-audio.vlpack"
        try? FileManager.default.createDirectory(atPath: VerifyReferenceTests.folder, withIntermediateDirectories: true)
        let s = "Fixtures/samples"
        _ = try? CLI.run(["convert", "\(s)/imagebind_huge.pth", "\(s)/AL_tiny.pth", "--config", "\(s)/convert-config.json", "-o", out])
        return out
    }()

    @Test func sampleModelPassesEveryAudioStage() throws {
        let r = try CLI.run(["verify", Self.model, "--reference", Self.reference, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let stages = try #require(try VerifyReferenceTests.parse(r.stdout)[key: "stages"]?.array)
        let names = stages.compactMap { $0[key: "name"]?.string }
        #expect(
            names == [
                "audio.encoder.cls", "audio.encoder.out", "audio.qformer.out", "audio.out",
                "audio.encoder.out (chained)", "audio.qformer.out (chained)", "audio.out (chained)",
            ])
        for s in stages {
            #expect(s[key: "pass"]?.bool == true)
            #expect(s[key: "tolerance"]?[key: "name"]?.string == "float")
        }
    }

    @Test func quantizedSampleIsJudgedAtAudioOut() throws {
        let q = "\(VerifyReferenceTests.folder)/sample-audio-q4_k_m.vlpack"
        try #require(try CLI.run(["quantize", Self.model, "-o", q, "--type", "q4_k_m"]).status == 0)
        let r = try CLI.run(["verify", q, "--reference", Self.reference])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("storage-loss targets apply at audio.out"))
        #expect(r.stdout.contains("audio.out (chained)") && !r.stdout.contains("FAIL"))
    }

    @Test func benchAudioReportsStagesAndRate() throws {
        let r = try CLI.run(["bench", "audio", Self.model, "--clips", "8", "--runs", "3", "--warmup", "0", "--reference", Self.reference, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try VerifyReferenceTests.parse(r.stdout)
        #expect(json[key: "clips"]?.int == 8)
        let runs = (json[key: "runs_s"]?.array ?? []).compactMap { $0.double }
        #expect(runs.count == 3 && json[key: "median_s"]?.double == runs.sorted()[1])
        #expect((json[key: "stages_median_s"]?.objectEntries ?? []).map(\.key) == ["encoder", "head", "audio_qformer", "audio_proj"])
        #expect(json[key: "gemm"]?[key: "m"]?.int == 8 * 7)  // 8 clips × (2·3 patches + cls)
        // Too many clips for the reference's input.mel.
        let tooMany = try CLI.run(["bench", "audio", Self.model, "--clips", "9", "--reference", Self.reference])
        #expect(tooMany.status != 0 && tooMany.stderr.contains("input.mel"))
    }
}
