/// A decoded waveform: float32 samples in [−1, 1] (as the decoder or the sample-format conversion
/// produced them; lossy decoders may overshoot slightly), every channel kept.
///
/// Layout: `samples` is `[channelCount, frameCount]`, channel-major (channel c's samples are
/// `samples[c·frameCount ..< (c+1)·frameCount]`), the layout of torchaudio's `[C, N]` tensor.
public struct DecodedAudio: Sendable, Equatable {
    /// Samples per second of `samples` (the stream's, or the resampler's target).
    public let sampleRate: Int
    /// The audio stream's own rate (equal to `sampleRate` unless resampled).
    public let sourceSampleRate: Int
    public let channelCount: Int
    /// Samples per channel (N).
    public let frameCount: Int
    public var samples: [Float]

    /// Invariant: `samples.count == channelCount · frameCount`.
    public init(sampleRate: Int, sourceSampleRate: Int? = nil, channelCount: Int, frameCount: Int, samples: [Float]) {
        precondition(samples.count == channelCount * frameCount, "DecodedAudio: \(samples.count) samples for \(channelCount)×\(frameCount)")
        self.sampleRate = sampleRate
        self.sourceSampleRate = sourceSampleRate ?? sampleRate
        self.channelCount = channelCount
        self.frameCount = frameCount
        self.samples = samples
    }

    /// Channel `c`'s samples.
    public func channel(_ c: Int) -> ArraySlice<Float> { samples[(c * frameCount)..<((c + 1) * frameCount)] }

    /// `frameCount / sampleRate`, the official loader's duration (`waveform.size(1) / sample_rate`).
    public var duration: Double { Double(frameCount) / Double(sampleRate) }
}
