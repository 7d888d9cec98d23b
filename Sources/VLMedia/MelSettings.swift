/// The audio preprocessing parameters of `load_and_transform_audio_data` (spec §4.3). Callers pass
/// the model's configuration; `.imageBindHuge` holds the values the released Video-LLaMA audio
/// branch uses (its defaults plus the demo's `clips_per_video=8`).
public struct MelSettings: Sendable, Equatable {
    /// The rate everything runs at after resampling (Hz).
    public var sampleRate: Int
    /// Seconds per clip; `clipDuration · sampleRate` must be a whole number of samples.
    public var clipDuration: Double
    public var clipsPerVideo: Int
    public var melBins: Int
    /// Frames per clip after zero padding or truncation.
    public var targetLength: Int
    /// The normalization `(x − mean) / std`, in float32 as torchvision's `Normalize` applies it.
    public var mean: Float
    public var std: Float

    public init(sampleRate: Int, clipDuration: Double, clipsPerVideo: Int, melBins: Int, targetLength: Int, mean: Float, std: Float) {
        self.sampleRate = sampleRate
        self.clipDuration = clipDuration
        self.clipsPerVideo = clipsPerVideo
        self.melBins = melBins
        self.targetLength = targetLength
        self.mean = mean
        self.std = std
    }

    /// 16 kHz, 2 s clips, 8 clips, 128 mel bins, 204 frames, mean −4.268, std 9.138.
    public static let imageBindHuge = MelSettings(
        sampleRate: 16000, clipDuration: 2, clipsPerVideo: 8, melBins: 128, targetLength: 204, mean: -4.268, std: 9.138)

    /// Throws `.invalidAudioSettings` for the values the loader cannot use (the rate, duration, clip
    /// count and mel bins are checked by `ClipSampler` and `KaldiFbank`).
    func validate() throws(MediaError) {
        guard targetLength > 0, targetLength <= 1 << 20 else { throw .invalidAudioSettings(name: "targetLength", value: "\(targetLength)") }
        guard std.isFinite, std != 0 else { throw .invalidAudioSettings(name: "std", value: "\(std)") }
        guard mean.isFinite else { throw .invalidAudioSettings(name: "mean", value: "\(mean)") }
    }
}
