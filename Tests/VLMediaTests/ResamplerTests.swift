import Testing
@testable import VLMedia

/// `Resampler` against torchaudio.functional.resample (resampler.safetensors: a fixed-seed input
/// read at several rates) and the decoded fixtures' resampled waveforms.
@Suite struct ResamplerTests {
    static let rates = [44100, 48000, 8000, 22050, 32000, 11025]

    @Test(arguments: rates)
    func matchesTorchaudio(_ rate: Int) throws {
        let ref = try AudioReference("resampler")
        let input = try ref.floats("input"), n = ref.shape("input")[1]
        let expected = try ref.floats("to16000.from\(rate)"), m = ref.shape("to16000.from\(rate)")[1]
        let r = try Resampler(from: rate, to: 16000)
        var got: [Float] = []
        for c in 0..<2 { got += r.resample(Array(input[(c * n)..<((c + 1) * n)])) }
        #expect(got.count == 2 * m)
        let d = AudioDifference(got, expected)
        print("[VLMedia] resample \(rate) → 16000: \(d)")
        #expect(d.maxAbsolute <= AudioTolerance.resampleMaxAbsolute, "\(d)")
    }

    @Test func upsamplingTo44100() throws {
        let ref = try AudioReference("resampler")
        let input = try ref.floats("input"), n = ref.shape("input")[1]
        let expected = try ref.floats("to44100.from16000")
        let r = try Resampler(from: 16000, to: 44100)
        let got = r.resample(Array(input[0..<n])) + r.resample(Array(input[n...]))
        let d = AudioDifference(got, expected)
        #expect(d.maxAbsolute <= AudioTolerance.resampleMaxAbsolute, "\(d)")
    }

    @Test func kernelGeometry() throws {
        let r = try Resampler(from: 44100, to: 16000)
        #expect((r.orig, r.new, r.width, r.taps) == (441, 160, 17, 475))
        let r48 = try Resampler(from: 48000, to: 16000)
        #expect((r48.orig, r48.new, r48.width, r48.taps) == (3, 1, 19, 41))
        #expect(r.outputCount(for: 286_720) == 104_026)
        #expect(r.support.map(\.count).max() ?? 0 <= 34)
        #expect(r48.support.map(\.count).max() ?? 0 <= 37)
    }

    @Test func sameRateIsUntouched() throws {
        let x: [Float] = (0..<1000).map { Float($0 % 17) * 0.01 - 0.05 }
        #expect(try Resampler(from: 16000, to: 16000).resample(x) == x)
    }

    /// The streaming (SIMD) path against the plain one, and chunking never changes the bits.
    @Test(arguments: [44100, 48000, 8000])
    func streamingMatchesReference(_ rate: Int) throws {
        let ref = try AudioReference("resampler")
        let x = Array(try ref.floats("input").prefix(1201))
        let r = try Resampler(from: rate, to: 16000)
        let oneShot = r.resample(x)
        let plain = r._referenceResample(x)
        #expect(oneShot.count == plain.count)
        #expect(AudioDifference(oneShot, plain).maxAbsolute <= 1e-6)
        var stream = StreamingResampler(r)
        var i = 0, step = 1
        while i < x.count {
            let j = min(x.count, i + step)
            x[i..<j].withUnsafeBufferPointer { stream.push($0) }
            (i, step) = (j, step * 3 % 97 + 1)
        }
        #expect(stream.finish() == oneShot)
    }

    @Test func unsupportedRates() {
        #expect(throws: MediaError.self) { try Resampler(from: 0, to: 16000) }
        #expect(throws: MediaError.self) { try Resampler(from: 44101, to: 16000) }  // a 16000-phase, 44k-tap kernel
    }

    /// Whole files: `AudioDecoder.decode(resamplingTo:)` against torchaudio's resample of the reference
    /// decode (so the decoders' rounding is included).
    @Test(arguments: ["sample_av.mp4", "mono48k.mkv", "tone16k.wav", "tone8k.flac", "short.mp3"])
    func decodedFilesMatchTorchaudio(_ name: String) throws {
        let ref = try AudioReference(String(name.split(separator: ".")[0]))
        let audio = try AudioDecoder(path: MediaFixtures.path(name)).decode(resamplingTo: 16000)
        #expect(audio.frameCount == ref.int("resampled_length"))
        #expect(audio.sourceSampleRate == ref.int("sample_rate"))
        let offsets = ref.ints("resampled_offsets")
        var worst = 0.0
        for (part, offset) in zip(["head", "mid", "tail"], offsets) {
            let expected = try ref.floats("resampled.\(part)")
            let width = expected.count / audio.channelCount
            var got: [Float] = []
            for c in 0..<audio.channelCount { got += audio.channel(c).dropFirst(offset).prefix(width) }
            worst = max(worst, AudioDifference(got, expected).maxAbsolute)
        }
        let sum = audio.samples.reduce(0.0) { $0 + Double($1) }
        print("[VLMedia] \(name) decode+resample max abs \(worst), sum \(sum) vs \(ref.double("resampled_sum"))")
        #expect(worst <= AudioTolerance.resampleMaxAbsolute)
        #expect(abs(sum - ref.double("resampled_sum")) <= 1e-3)
    }
}
