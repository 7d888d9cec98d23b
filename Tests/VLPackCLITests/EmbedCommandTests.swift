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

    /// The sample video with sound: the audio stages are written and match the committed reference,
    /// whose clips come from the official loader (`load_and_transform_audio_data`, torchaudio) and
    /// whose stages come from ImageBind's own modules.
    @Test func soundIsEmbeddedAndMatchesTheReference() throws {
        try Self.withModel { model, dir in
            let out = dir.appendingPathComponent("av.safetensors").path
            let r = try CLI.run(["embed", model, "--video", "Fixtures/media/sample_av.mp4", "-o", out])
            #expect(r.status == 0, "\(r.stderr)")
            for stage in ["input.frames", "video.out", "input.mel", "audio.encoder.cls", "audio.encoder.out", "audio.qformer.out", "audio.out"] {
                #expect(r.stdout.contains(stage), "\(stage) missing: \(r.stdout)")
            }
            let verify = try CLI.run([
                "verify", model, "--reference", "Fixtures/reference/sample_audio.safetensors", "--embedding", out, "--json",
            ])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.contains("\"input.mel\"") && verify.stdout.contains("\"name\":\"mel\""))
            #expect(!verify.stdout.contains("\"pass\":false"))
        }
    }

    /// No track: video only with a note; a required track (`--audio`) missing is an error; `--no-audio`
    /// skips the sound; `--audio` alone embeds only the sound.
    @Test func audioSourcesAndTheirRules() throws {
        try Self.withModel { model, dir in
            let out = dir.appendingPathComponent("a.safetensors").path
            let silent = try CLI.run(["embed", model, "--video", "Fixtures/media/hd709.mp4", "-o", out])
            #expect(silent.status == 0 && silent.stderr.contains("hd709.mp4 has no audio track: video only"), "\(silent.stderr)")
            #expect(!silent.stdout.contains("input.mel"))
            let required = try CLI.run(["embed", model, "--video", "Fixtures/media/hd709.mp4", "--audio", "Fixtures/media/hd709.mp4", "-o", out])
            #expect(required.status != 0 && required.stderr.contains("noAudioStream"), "\(required.stderr)")
            let skipped = try CLI.run(["embed", model, "--video", "Fixtures/media/sample_av.mp4", "--no-audio", "-o", out])
            #expect(skipped.status == 0 && !skipped.stdout.contains("input.mel"))
            let only = try CLI.run(["embed", model, "--audio", "Fixtures/media/tone16k.wav", "-o", out])
            #expect(only.status == 0, "\(only.stderr)")
            #expect(only.stdout.contains("audio.out") && !only.stdout.contains("input.frames"))
            let both = try CLI.run(["embed", model, "--audio", "Fixtures/media/tone16k.wav", "--no-audio", "-o", out])
            #expect(both.status == 64)
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
