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

    /// The mel filters as torchaudio builds them in float32 (get_mel_banks): the whole 32-bin bank,
    /// and each 128-bin filter's weight sum. Not bitwise: torch's float32 `log` (SLEEF, ≤ 1 ulp) is not
    /// correctly rounded for 21 of the 256 per-FFT-bin mel values and glibc's `logf` is, so a weight
    /// may move by one mel-value ulp over the filter spacing (2.4e-4 / 85 ≈ 2.9e-6 at 32 bins,
    /// 2.4e-4 / 21.8 ≈ 1.1e-5 at 128).
    @Test func melFiltersMatchTorchaudio() throws {
        let ref = try AudioReference("fbank")
        func dense(_ f: KaldiFbank) -> [Float] {
            var out = [Float](repeating: 0, count: f.melBins * 256)
            for b in 0..<f.melBins { for (i, w) in f.weights[b].enumerated() { out[b * 256 + f.firstBin[b] + i] = w } }
            return out
        }
        let bank = AudioDifference(dense(try KaldiFbank(melBins: 32)), try ref.floats("melbank.32"))
        let f128 = try KaldiFbank(melBins: 128)
        let sums = AudioDifference(f128.weights.map { $0.reduce(0, +) }, try ref.floats("melbank.128.sums"))
        print("[VLMedia] mel filters vs torchaudio: 32-bin bank \(bank); 128-bin sums \(sums)")
        #expect(bank.maxAbsolute <= AudioTolerance.melFilterMaxAbsolute, "\(bank)")
        #expect(sums.maxAbsolute <= 4 * AudioTolerance.melFilterMaxAbsolute, "\(sums)")
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
