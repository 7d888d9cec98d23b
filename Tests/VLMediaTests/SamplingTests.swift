import Testing
@testable import VLMedia

@Suite struct SamplingTests {
    @Test func vlen100() {
        #expect(UniformSampling.indices(vlen: 100, maxFrames: 8) == [0, 12, 25, 37, 50, 62, 75, 87])
    }

    @Test func fewerFramesThanRequested() {
        #expect(UniformSampling.indices(vlen: 3, maxFrames: 8) == [0, 1, 2])
        #expect(UniformSampling.indices(vlen: 1, maxFrames: 8) == [0])
    }

    /// numpy's `arange(0, vlen, vlen/n).astype(int)` for a table of (vlen, n), including the
    /// float edge cases where numpy returns n + 1 indices (17/7, 34/7, 300/7).
    @Test func matchesNumpyTable() {
        let table = MediaFixtures.reference.sampling
        #expect(table.count > 100)
        var extra = 0
        for c in table {
            let got = UniformSampling.indices(vlen: c.vlen, n: c.n)
            #expect(got == c.indices, "vlen \(c.vlen), n \(c.n)")
            if c.indices.count == c.n + 1 { extra += 1 }
        }
        #expect(extra >= 3)
        #expect(UniformSampling.indices(vlen: 17, n: 7).count == 8)
    }

    @Test func timestampsRoundLikePython() {
        // round(x, 1) rounds the exact binary value: 0.25 → 0.2 (tie to even), 0.35 → 0.3 (0.34999…).
        #expect(UniformSampling.timestamp(index: 1, fps: 4) == 0.2)
        #expect(UniformSampling.timestamp(index: 7, fps: 20) == 0.3)
        #expect(UniformSampling.timestamp(index: 87, fps: 25) == 3.5)
        #expect(UniformSampling.message(timestamps: [0.0, 0.5, 1.0]) == "The video contains 3 frames sampled at 0.0, 0.5, 1.0 seconds. ")
    }

    @Test func normalizationIsTorchOrder() {
        let image = RGBImage(width: 1, height: 1, pixels: [0, 128, 255])
        let t = CLIPNormalization.tensor([image, image])
        #expect(t.count == 6)
        #expect(t[0] == (Float(0) / 255 - 0.48145466) / 0.26862954)
        #expect(t[1] == (Float(128) / 255 - 0.4578275) / 0.26130258)
        #expect(t[2] == (Float(255) / 255 - 0.40821073) / 0.27577711)
        #expect(t[3] == t[0])
    }
}
