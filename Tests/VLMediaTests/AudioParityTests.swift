import Foundation
import Testing
@testable import VLMedia

/// `input.mel` from `AudioClipLoader` against the official `load_and_transform_audio_data`
/// (make_audio_reference.py), and the audio error rules.
@Suite struct AudioParityTests {
    static let files = ["sample_av.mp4", "mono48k.mkv", "tone16k.wav", "tone8k.flac", "short.mp3"]

    static func stem(_ name: String) -> String { String(name.split(separator: ".")[0]) }

    @Test(arguments: files)
    func releasedSettingsMatchOfficialLoader(_ name: String) throws {
        let ref = try AudioReference(Self.stem(name))
        let mel = try AudioClipLoader(path: MediaFixtures.path(name), settings: .imageBindHuge).load()
        #expect(mel.shape == [8, 1, 128, 204])
        #expect(mel.values.count == 8 * 128 * 204)
        #expect(mel.sampleCount == ref.int("resampled_length"))
        #expect(mel.clips.map { [$0.startSample, $0.endSample] } == ref.clipRanges)
        let d: AudioDifference
        if ref.has("mel.released") {
            d = AudioDifference(mel.values, try ref.floats("mel.released"))
        } else {
            let stride = ref.int("stride")
            d = AudioDifference(Swift.stride(from: 0, to: mel.values.count, by: stride).map { mel.values[$0] }, try ref.floats("mel.released.sub"))
        }
        // Per-clip mean, min and max over the whole clip.
        let stats = try ref.floats("mel.released.stats")
        let per = 128 * 204
        var statWorst = 0.0
        for s in 0..<8 {
            let clip = mel.values[(s * per)..<((s + 1) * per)]
            let mean = clip.reduce(0.0) { $0 + Double($1) } / Double(per)
            statWorst = max(statWorst, abs(mean - Double(stats[s * 3])))
            statWorst = max(statWorst, abs(Double(clip.min() ?? 0) - Double(stats[s * 3 + 1])))
            statWorst = max(statWorst, abs(Double(clip.max() ?? 0) - Double(stats[s * 3 + 2])))
        }
        print("[VLMedia] \(name) input.mel 8×128×204 vs official: \(d); per-clip stats worst \(statWorst)")
        #expect(d.maxAbsolute <= AudioTolerance.melMaxAbsolute, "\(d)")
        #expect(d.meanAbsolute <= AudioTolerance.melMeanAbsolute, "\(d)")
        #expect(statWorst <= AudioTolerance.melMaxAbsolute)
    }

    /// The sample model's settings (32 mel bins, 44 frames: truncation instead of padding).
    @Test func tinySettingsMatchOfficialLoader() throws {
        let ref = try AudioReference("sample_av")
        let tiny = MelSettings(sampleRate: 16000, clipDuration: 2, clipsPerVideo: 8, melBins: 32, targetLength: 44, mean: -4.268, std: 9.138)
        let mel = try AudioClipLoader(path: MediaFixtures.path("sample_av.mp4"), settings: tiny).load()
        #expect(mel.shape == [8, 1, 32, 44])
        let d = AudioDifference(mel.values, try ref.floats("mel.tiny"))
        print("[VLMedia] sample_av.mp4 input.mel 8×32×44 vs official: \(d)")
        #expect(d.maxAbsolute <= AudioTolerance.melMaxAbsolute, "\(d)")
        #expect(d.meanAbsolute <= AudioTolerance.melMeanAbsolute, "\(d)")
    }

    /// The in-place mean subtraction through overlapping views matters: subtracting each clip's mean
    /// from a fresh copy instead is measurably different on the overlapping clips.
    @Test func overlappingMeanSubtractionIsSequential() throws {
        let audio = try AudioDecoder(path: MediaFixtures.path("sample_av.mp4")).decode(resamplingTo: 16000)
        let clips = try ClipSampler(clipDuration: 2, clipsPerVideo: 8, sampleRate: 16000).clips(sampleCount: audio.frameCount)
        var shiftedAudio = audio
        let shifted = try AudioClipLoader.shiftedClips(&shiftedAudio, clips: clips, minimum: 400, path: "")
        #expect(shiftedAudio != audio)
        let fresh = try clips.map { clip in
            var copy = audio
            return try AudioClipLoader.shiftedClips(&copy, clips: [clip], minimum: 400, path: "")[0]
        }
        #expect(shifted[0] == fresh[0])
        #expect(shifted[7] != fresh[7])
    }
}

@Suite struct AudioDecodeTests {
    func rule(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as MediaError { return e.rule } catch { return "\(error)" }
    }

    /// Decoded samples against the reference decode (torchaudio 0.12.1's ffmpeg path, via PyAV):
    /// length, rate, channels, and three 512-sample windows per channel.
    @Test(arguments: ["sample_av.mp4", "mono48k.mkv", "tone16k.wav", "tone8k.flac", "short.mp3", "pcm_s32le.wav", "pcm_u8.wav", "pcm_f64le.wav"])
    func matchesReferenceDecode(_ name: String) throws {
        let ref = try AudioReference(String(name.split(separator: ".")[0]))
        let audio = try AudioDecoder(path: MediaFixtures.path(name)).decode()
        #expect(audio.sampleRate == ref.int("sample_rate"))
        #expect(audio.channelCount == ref.int("channels"))
        #expect(audio.frameCount == ref.int("decoded_length"))
        var worst = 0.0
        for (part, offset) in zip(["head", "mid", "tail"], ref.ints("decoded_offsets")) {
            let expected = try ref.floats("decoded.\(part)")
            let width = expected.count / audio.channelCount
            var got: [Float] = []
            for c in 0..<audio.channelCount { got += audio.channel(c).dropFirst(offset).prefix(width) }
            worst = max(worst, AudioDifference(got, expected).maxAbsolute)
        }
        print("[VLMedia] \(name) decode vs reference: max abs \(worst)")
        let lossless = name.hasSuffix(".wav") || name.hasSuffix(".flac")
        #expect(worst <= (lossless ? 0 : AudioTolerance.decodeMaxAbsolute))
    }

    /// Already at 16 kHz: `decode(resamplingTo:)` returns the decoded samples untouched.
    @Test func sixteenKilohertzIsNotResampled() throws {
        let decoder = AudioDecoder(path: MediaFixtures.path("tone16k.wav"))
        let native = try decoder.decode(), resampled = try decoder.decode(resamplingTo: 16000)
        #expect(native == resampled)
        #expect(native.sampleRate == 16000 && native.sourceSampleRate == 16000)
    }

    /// §7b: the AAC track keeps its encoder end padding (6.5 s at 44.1 kHz = 286,650 samples; the
    /// decoder returns 280 frames of 1024 after skipping the 1024 priming samples).
    @Test func aacKeepsEndPadding() throws {
        let audio = try AudioDecoder(path: MediaFixtures.path("sample_av.mp4")).decode()
        #expect(audio.frameCount == 286_720)
        #expect(audio.channelCount == 2)
    }

    @Test func noAudioStream() {
        #expect(rule { _ = try AudioDecoder(path: MediaFixtures.path("hd709.mp4")).decode() } == "noAudioStream")
        #expect(rule { _ = try AudioClipLoader(path: MediaFixtures.path("hd709.mp4"), settings: .imageBindHuge).load() } == "noAudioStream")
        do { _ = try AudioDecoder(path: MediaFixtures.path("hd709.mp4")).decode() } catch { #expect("\(error)".contains("hd709.mp4")) }
    }

    @Test func missingTruncatedAndCorruptFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlmedia-audio-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ bytes: [UInt8]) -> String {
            let p = dir.appendingPathComponent(name).path
            _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
            return p
        }
        let av = try [UInt8](Data(contentsOf: URL(fileURLWithPath: MediaFixtures.path("sample_av.mp4"))))
        let flac = try [UInt8](Data(contentsOf: URL(fileURLWithPath: MediaFixtures.path("tone8k.flac"))))
        let wav = try [UInt8](Data(contentsOf: URL(fileURLWithPath: MediaFixtures.path("tone16k.wav"))))

        #expect(rule { _ = try AudioDecoder(path: "/nonexistent/a.wav").decode() } == "cannotOpen")
        #expect(rule { _ = try AudioDecoder(path: write("empty.wav", [])).decode() } == "cannotOpen")
        #expect(rule { _ = try AudioDecoder(path: write("noise.bin", (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })).decode() } == "cannotOpen")
        // mp4 with its index (moov) at the end, cut in the middle.
        #expect(rule { _ = try AudioDecoder(path: write("cut.mp4", Array(av.prefix(av.count / 2)))).decode() } == "cannotOpen")
        // A WAV header with no samples after it.
        #expect(rule { _ = try AudioDecoder(path: write("header.wav", Array(wav.prefix(44)))).decode() } == "noAudioSamples")
        // A WAV cut mid-data decodes what is there.
        #expect(try AudioDecoder(path: write("half.wav", Array(wav.prefix(20044)))).decode().frameCount == 10000)
        // A too-short waveform for one fbank window.
        #expect(
            rule { _ = try AudioClipLoader(path: write("tiny.wav", Array(wav.prefix(44 + 600))), settings: .imageBindHuge).load() } == "audioTooShort")
        // FLAC with garbage in the middle of its frames: decodes or reports a named rule, never crashes.
        var broken = flac
        for i in stride(from: broken.count / 3, to: broken.count / 3 + 4000, by: 1) { broken[i] = UInt8(truncatingIfNeeded: i &* 31) }
        let r = rule { _ = try AudioClipLoader(path: write("broken.flac", broken), settings: .imageBindHuge).load() }
        #expect(r == nil || ["decodeFailed", "audioParametersChanged"].contains(r ?? ""), "\(r ?? "")")
    }

    @Test func invalidSettings() {
        var s = MelSettings.imageBindHuge
        s.targetLength = 0
        #expect(rule { _ = try AudioClipLoader(path: MediaFixtures.path("tone16k.wav"), settings: s).load() } == "invalidAudioSettings")
        s = .imageBindHuge
        s.std = 0
        #expect(rule { _ = try AudioClipLoader(path: MediaFixtures.path("tone16k.wav"), settings: s).load() } == "invalidAudioSettings")
    }
}
