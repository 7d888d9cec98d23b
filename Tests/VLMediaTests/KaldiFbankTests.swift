import Foundation
import Testing
@testable import VLMedia

/// `KaldiFbank` against torchaudio.compliance.kaldi.fbank with ImageBind's arguments, directly, on a
/// fixed-seed 0.6 s waveform (two sines plus noise).
@Suite struct KaldiFbankTests {
    @Test(arguments: [128, 32])
    func matchesTorchaudio(_ bins: Int) throws {
        let ref = try AudioReference("fbank")
        let x = try ref.floats("input")
        let expected = try ref.floats("fbank.\(bins)")
        let fbank = try KaldiFbank(sampleRate: 16000, melBins: bins)
        #expect(ref.shape("fbank.\(bins)") == [fbank.frameCount(samples: x.count), bins])
        let got = fbank(x)
        let d = AudioDifference(got, expected)
        let worst = zip(got, expected).enumerated().max { abs($0.1.0 - $0.1.1) < abs($1.1.0 - $1.1.1) }
        print(
            "[VLMedia] fbank \(bins) bins vs torchaudio: \(d); worst at frame \((worst?.offset ?? 0) / bins) bin \((worst?.offset ?? 0) % bins), value \(worst?.element.1 ?? 0)"
        )
        #expect(d.maxAbsolute <= AudioTolerance.fbankMaxAbsolute, "\(d)")
        #expect(d.meanAbsolute <= AudioTolerance.fbankMeanAbsolute, "\(d)")
    }

    @Test func frameGeometry() throws {
        let f = try KaldiFbank()
        #expect((f.windowSize, f.windowShift, f.paddedSize) == (400, 160, 512))
        #expect(f.frameCount(samples: 32000) == 198)
        #expect(f.frameCount(samples: 399) == 0)
        #expect(f.frameCount(samples: 400) == 1)
        // The filters never reach the Nyquist bin; the lowest are narrower than an FFT bin, and one
        // (as in torchaudio's bank) covers no bin centre at all, so its energy is always the floor.
        #expect(f.weights.filter(\.isEmpty).count == 1)
        #expect(zip(f.firstBin, f.weights).allSatisfy { $0 + $1.count <= 256 })
    }

    /// Silence is log(FLT_EPSILON) everywhere.
    @Test func silenceIsTheFloor() throws {
        let got = try KaldiFbank(melBins: 32)([Float](repeating: 0.25, count: 1000))
        #expect(got.allSatisfy { $0 == log(Float.ulpOfOne) })
    }

    @Test func invalidSettings() {
        #expect(throws: MediaError.self) { try KaldiFbank(melBins: 3) }
        #expect(throws: MediaError.self) { try KaldiFbank(sampleRate: 16000, melBins: 128, lowFrequency: 9000) }
        #expect(throws: MediaError.self) { try KaldiFbank(sampleRate: 0) }
    }
}
