import VLCore

/// One audio clip: the sample range the official loader slices (`waveform[:, a:b]`).
public struct AudioClip: Sendable, Equatable {
    public let index: Int
    /// `int(start · sr)` and `int(end · sr)` of the exact clip times.
    public let startSample: Int
    public let endSample: Int
    /// `startSample..<endSample` truncated to the waveform's length, as Python slicing truncates.
    public let range: Range<Int>
    /// The clip times in seconds, rounded to double (the exact values are rationals).
    public let start: Double
    public let end: Double
}

/// pytorchvideo 0.1.5's `ConstantClipsPerVideoSampler(clip_duration, clips_per_video)` as
/// `get_clip_timepoints` drives it (spec §4.3, §7b), for a waveform of N samples at `sampleRate`:
/// - the duration is the **float** `N / sample_rate` (as the loader passes it), and
///   `max_start = Fraction(max(duration − clip_duration, 0))` is that float's exact binary value after
///   a float subtraction;
/// - clip k (k = 0 ..< clips) starts at the exact rational `max_start · k / clips` (0.1.5 divides by
///   `clips`, not `clips − 1`) and lasts `clip_duration`; all start at 0 when duration ≤ clip_duration;
/// - its samples are `[int(start·sr), int(end·sr))`, truncated to N.
///
/// The start sample is computed exactly as `⌊M·2ᵉ·k·sr / clips⌋` (max_start = M·2ᵉ) in 128-bit
/// integer arithmetic; `clipDuration · sampleRate` must be a whole number of samples (2 s at 16 kHz),
/// so the end is the start plus that. Cost: O(clips).
public struct ClipSampler: Sendable {
    public let clipDuration: Double
    public let clipsPerVideo: Int
    public let sampleRate: Int
    /// `clipDuration · sampleRate`, exact.
    public let clipSamples: Int

    /// Throws `.invalidAudioSettings` unless the duration is positive with a whole number of samples,
    /// and the clip count and rate are positive.
    public init(clipDuration: Double, clipsPerVideo: Int, sampleRate: Int) throws(MediaError) {
        guard clipsPerVideo > 0, clipsPerVideo <= 1 << 20 else { throw .invalidAudioSettings(name: "clipsPerVideo", value: "\(clipsPerVideo)") }
        guard sampleRate > 0 else { throw .invalidAudioSettings(name: "sampleRate", value: "\(sampleRate)") }
        let samples = clipDuration * Double(sampleRate)
        // Exactly a whole number: the product is an integer and the fused multiply-add shows no rounding.
        guard clipDuration > 0, samples.isFinite, samples < 1e15, samples == samples.rounded(),
            (-samples).addingProduct(clipDuration, Double(sampleRate)) == 0
        else { throw .invalidAudioSettings(name: "clipDuration", value: "\(clipDuration) s at \(sampleRate) Hz") }
        self.clipDuration = clipDuration
        self.clipsPerVideo = clipsPerVideo
        self.sampleRate = sampleRate
        self.clipSamples = Int(samples)
    }

    /// The clips for a waveform of `sampleCount` samples. `path` only labels errors.
    public func clips(sampleCount: Int, path: String = "") throws(MediaError) -> [AudioClip] {
        let duration = Double(sampleCount) / Double(sampleRate)
        let maxStart = max(duration - clipDuration, 0)
        var out: [AudioClip] = []
        out.reserveCapacity(clipsPerVideo)
        for k in 0..<clipsPerVideo {
            guard let start = Self.floorScaled(maxStart, by: UInt64(k) * UInt64(sampleRate), over: UInt64(clipsPerVideo)),
                let end = Checked.add(start, clipSamples)
            else { throw .lengthOverflow(path: path, what: "the start sample of clip \(k)") }
            let startSeconds = maxStart * Double(k) / Double(clipsPerVideo)
            out.append(
                AudioClip(
                    index: k, startSample: start, endSample: end, range: min(start, sampleCount)..<min(end, sampleCount),
                    start: startSeconds, end: startSeconds + clipDuration))
        }
        return out
    }

    /// `⌊x · m / d⌋` for a finite `x ≥ 0`, exactly (x = M·2ᵉ with an integer M < 2⁵³); `nil` if the
    /// result does not fit in `Int`.
    static func floorScaled(_ x: Double, by m: UInt64, over d: UInt64) -> Int? {
        guard x.isFinite, x >= 0, d > 0 else { return nil }
        if x == 0 || m == 0 { return 0 }
        let e = Int(x.exponent) - 52
        let mantissa = UInt64(Double(sign: .plus, exponent: -e, significand: x))  // x·2⁻ᵉ, an exact integer
        // (hi, lo) = mantissa · m, 128 bits.
        let (hi, lo) = mantissa.multipliedFullWidth(by: m)
        let quotient: UInt64
        if e >= 0 {
            guard hi == 0, e < 64, lo.leadingZeroBitCount > e else { return nil }
            quotient = (lo << UInt64(e)) / d
        } else {
            let s = -e
            let shifted: UInt64
            if s >= 128 {
                shifted = 0
            } else if s >= 64 {
                shifted = hi >> UInt64(s - 64)
            } else {
                guard hi >> UInt64(s) == 0 else { return nil }
                shifted = (hi << UInt64(64 - s)) | (lo >> UInt64(s))
            }
            quotient = shifted / d  // ⌊⌊a/2ˢ⌋/d⌋ = ⌊a/(2ˢ·d)⌋
        }
        return Int(exactly: quotient)
    }
}
