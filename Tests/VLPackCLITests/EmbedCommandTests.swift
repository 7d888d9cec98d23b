import Foundation
import Testing
import VLCore

/// `vlpack embed` end to end: a .vlpack converted from the bundled samples, the media fixtures in,
/// a safetensors file with `input.frames` out; errors name the file and the rule.
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"))
struct EmbedCommandTests {
    static func withModel(_ body: (_ model: String, _ dir: URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model.vlpack").path
        let s = "Fixtures/samples/"
        let convert = try CLI.run([
            "convert", s + "eva_vit_g.pth", s + "blip2_pretrained_flant5xxl.pth", s + "VL_tiny.pth",
            s + "imagebind_huge.pth", s + "AL_tiny.pth", s + "llama-hf",
            "--config", s + "convert-config.json", "-o", model,
        ])
        try #require(convert.status == 0, "\(convert.stderr)")
        try body(model, dir)
    }

    @Test func videoAndImage() throws {
        try Self.withModel { model, dir in
            for (flag, file, frames) in [("--video", "hd709.mp4", 8), ("--image", "image.png", 1)] {
                let out = dir.appendingPathComponent(file + ".safetensors").path
                let r = try CLI.run(["embed", model, flag, "Fixtures/media/" + file, "-o", out])
                #expect(r.status == 0, "\(r.stderr)")
                let inspect = try CLI.run(["inspect", out, "--json"])
                #expect(inspect.stdout.contains("\"input.frames\""))
                // Frames are made at the model's image size (28 for the tiny sample EVA).
                #expect(inspect.stdout.contains("[\(frames),3,28,28]"), "\(inspect.stdout)")
                for stage in ["vision.encoder.out", "vision.ln.out", "vision.qformer.out", "video.qformer.out", "video.out"] {
                    #expect(inspect.stdout.contains("\"\(stage)\""), "\(stage) missing")
                }
            }
            let four = dir.appendingPathComponent("four.safetensors").path
            #expect(try CLI.run(["embed", model, "--video", "Fixtures/media/sd_untagged.mp4", "--frames", "4", "-o", four]).status == 0)
            #expect(try CLI.run(["inspect", four, "--json"]).stdout.contains("[4,3,28,28]"))
        }
    }

    /// The sample video embedded by VLPack matches the committed PyTorch reference made from decord's
    /// frames (Fixtures/reference/generate_reference.py --video), frames and every stage.
    @Test func embeddedVideoMatchesTheReference() throws {
        try Self.withModel { model, dir in
            let out = dir.appendingPathComponent("video.safetensors").path
            #expect(try CLI.run(["embed", model, "--video", "Fixtures/media/hd709.mp4", "-o", out]).status == 0)
            let verify = try CLI.run([
                "verify", model, "--reference", "Fixtures/reference/sample_video.safetensors",
                "--embedding", out, "--json",
            ])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.contains("\"input.frames (chained)\"") || verify.stdout.contains("\"input.frames\""))
            #expect(!verify.stdout.contains("\"pass\":false"))
        }
    }

    @Test func errorsNameFileAndRule() throws {
        try Self.withModel { model, dir in
            let out = dir.appendingPathComponent("x.safetensors").path
            let audio = try CLI.run(["embed", model, "--video", "Fixtures/media/audio_only.m4a", "-o", out])
            #expect(audio.status != 0)
            #expect(audio.stderr.contains("noVideoStream") && audio.stderr.contains("audio_only.m4a"), "\(audio.stderr)")
            let truncated = try CLI.run(["embed", model, "--video", "Fixtures/media/truncated.mp4", "-o", out])
            #expect(truncated.stderr.contains("cannotOpen") && truncated.stderr.contains("truncated.mp4"), "\(truncated.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
            #expect(try CLI.run(["embed", model, "-o", out]).status != 0)
        }
    }
}
