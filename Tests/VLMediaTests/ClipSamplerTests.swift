import Testing
@testable import VLMedia

/// pytorchvideo 0.1.5 `ConstantClipsPerVideoSampler(2, 8)` timing (spec §4.3, §7b).
@Suite struct ClipSamplerTests {
    let sampler = try! ClipSampler(clipDuration: 2, clipsPerVideo: 8, sampleRate: 16000)

    @Test func shorterThanOneClipStartsEveryClipAtZero() throws {
        for n in [400, 24000, 32000] {
            let clips = try sampler.clips(sampleCount: n)
            #expect(clips.count == 8)
            #expect(clips.allSatisfy { $0.startSample == 0 && $0.endSample == 32000 && $0.range == 0..<n })
        }
    }

    /// 10 s: max_start 8 s, steps of exactly 8/8 = 1 s (0.1.5 divides by clips, not clips − 1).
    @Test func exactEighthSteps() throws {
        let clips = try sampler.clips(sampleCount: 160_000)
        #expect(clips.map(\.startSample) == (0..<8).map { $0 * 16000 })
        #expect(clips.map(\.endSample) == (0..<8).map { $0 * 16000 + 32000 })
        #expect(clips.last?.range == 112_000..<144_000)
        #expect(clips.map(\.start) == (0..<8).map { Double($0) })
    }

    /// Python: max_start = Fraction(N/16000 − 2) is the exact binary value of a float difference, so
    /// `int(start·sr)` can be one less than both plain float math and ideal rational math.
    @Test func fractionOfFloatDiffersFromFloatAndRationalMath() throws {
        // N = 32686, k = 4: Fraction path 342; float path int((d−2)·4/8·16000) = 343; (N−32000)/2 = 343.
        #expect(try sampler.clips(sampleCount: 32686)[4].startSample == 342)
        // N = 32016, k = 1: Fraction path 1; rational (N − 32000)/8 = 2 (and float math gives 1 here).
        #expect(try sampler.clips(sampleCount: 32016)[1].startSample == 1)
        #expect(try sampler.clips(sampleCount: 32936).map(\.startSample) == [0, 116, 233, 350, 467, 584, 701, 818])
    }

    /// The sampler against every fixture's reference ranges (from pytorchvideo 0.1.5 itself).
    @Test(arguments: ["sample_av", "mono48k", "tone16k", "tone8k", "short"])
    func matchesPytorchvideo(_ stem: String) throws {
        let ref = try AudioReference(stem)
        let clips = try sampler.clips(sampleCount: ref.int("resampled_length"))
        #expect(clips.map { [$0.startSample, $0.endSample] } == ref.clipRanges)
    }

    @Test func invalidSettings() {
        #expect(throws: MediaError.invalidAudioSettings(name: "clipsPerVideo", value: "0")) {
            try ClipSampler(clipDuration: 2, clipsPerVideo: 0, sampleRate: 16000)
        }
        #expect(throws: MediaError.self) { try ClipSampler(clipDuration: 0.1 + 1e-9, clipsPerVideo: 8, sampleRate: 16000) }
        #expect(throws: MediaError.self) { try ClipSampler(clipDuration: -2, clipsPerVideo: 8, sampleRate: 16000) }
        #expect((try? ClipSampler(clipDuration: 0.5, clipsPerVideo: 3, sampleRate: 16000))?.clipSamples == 8000)
    }

    @Test func floorScaledIsExact() {
        #expect(ClipSampler.floorScaled(0.1, by: 10, over: 1) == 1)  // 0.1 is slightly above 1/10
        #expect(ClipSampler.floorScaled(0.3, by: 10, over: 1) == 2)  // 0.3 is slightly below 3/10
        #expect(ClipSampler.floorScaled(1e300, by: 16000, over: 1) == nil)
        #expect(ClipSampler.floorScaled(5e-324, by: 16000, over: 8) == 0)
    }
}
