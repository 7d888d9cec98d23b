/// `input.mel` for one file: what `load_and_transform_audio_data([path])[0]` returns.
public struct MelClips: Sendable {
    public let settings: MelSettings
    /// `[clips, 1, melBins, targetLength]` float32, row-major (the model's input for one file;
    /// batch it as `[1, clips, 1, melBins, targetLength]`).
    public let values: [Float]
    /// The clips' sample ranges and times, at `settings.sampleRate`.
    public let clips: [AudioClip]
    /// The decoded stream's own rate, and the resampled sample count the clip times come from.
    public let sourceSampleRate: Int
    public let sampleCount: Int
    /// fbank frames of each clip before padding or truncation to `targetLength`.
    public let frameCounts: [Int]

    public var clipCount: Int { clips.count }
    public var shape: [Int] { [clips.count, 1, settings.melBins, settings.targetLength] }
}
