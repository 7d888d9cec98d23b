import VLCore
import VLInference
import VLMedia

/// Where a run's sound comes from.
public enum AudioSource: Sendable, Equatable {
    /// No sound (`--no-audio`, or a still image).
    case none
    /// The video's own sound track when it has one, else none: the official demo's behaviour
    /// (`Chat.upload_video` falls back to video only when `torchaudio.load` fails).
    case ifPresent(path: String)
    /// Sound that must be there (`--audio FILE`): a missing track is an error.
    case required(path: String)
}

/// Why the pipeline could not prepare or run an input.
public enum PipelineError: RuleError, Equatable {
    /// Sound was asked for explicitly but the model has no audio branch.
    case modelHasNoAudioBranch(path: String)
    /// A video or image was given but the model has no vision branch.
    case modelHasNoVisionBranch(path: String)

    public var detail: String {
        switch self {
        case let .modelHasNoAudioBranch(path):
            "\(path): the model has no audio branch (imagebind_audio + audio_branch); convert it with imagebind_huge.pth and an AL_*.pth, or pass --no-audio"
        case let .modelHasNoVisionBranch(path):
            "\(path): the model has no vision branch (eva_vit + blip2_qformer + video_branch); convert it with eva_vit_g.pth, the BLIP-2 file and a VL_*.pth"
        }
    }
}

/// Preprocessed sound: `input.mel` as the official loader makes it (spec §4.3).
public struct AudioInput: Sendable {
    public let source: String
    public let clips: MelClips

    /// `[S, 1, mel, frames]` float32, normalized.
    public var mel: [Float] { clips.values }
    public var clipCount: Int { clips.clipCount }

    /// What `vlpack embed` records in its output's `__metadata__`.
    public var metadata: [String: String] {
        [
            "vlpack.embed.audio.source": source,
            "vlpack.embed.audio.clips": clips.clips.map { "\($0.start)-\($0.end)" }.joined(separator: ","),
            "vlpack.embed.audio.source_rate": String(clips.sourceSampleRate),
        ]
    }
}

/// What happened to the sound of a run, for the caller to report (the CLI says it on stderr).
public enum AudioOutcome: Sendable, Equatable {
    case loaded
    case notRequested
    /// `.ifPresent` on a file without an audio stream: video only, as the demo does.
    case noTrack(path: String)
    /// `.ifPresent` on a model without the audio branch.
    case noAudioBranch
    /// `.ifPresent` on a track that could not be used (too short for one fbank window, no samples,
    /// undecodable): video only, as the demo's `except` does for any failure of the audio loader.
    case unusable(path: String, reason: String)
}

extension MelSettings {
    /// The clip settings the model recorded (`imagebind_audio` config), never hard-coded.
    public init(_ config: ImageBindAudioConfig) {
        self.init(
            sampleRate: config.sampleRate, clipDuration: config.clipDuration, clipsPerVideo: config.clips,
            melBins: config.melBins, targetLength: config.targetLength, mean: Float(config.melMean), std: Float(config.melStd))
    }
}

extension Pipeline {
    /// Loads the sound `source` asks for with the model's clip settings. Returns nil with the reason
    /// when there is none to load; throws when sound was required and cannot be had.
    /// Cost: decoding and resampling the whole track, then one fbank per clip.
    public func loadAudio(_ source: AudioSource, threads: Int = 2) throws -> (AudioInput?, AudioOutcome) {
        let path: String
        switch source {
        case .none: return (nil, .notRequested)
        case let .ifPresent(p):
            guard audio != nil else { return (nil, .noAudioBranch) }
            path = p
        case let .required(p):
            guard audio != nil else { throw PipelineError.modelHasNoAudioBranch(path: pack.path) }
            path = p
        }
        let settings = MelSettings(audio!.encoder.config)
        let result: Result<MelClips, MediaError> = Result { () throws(MediaError) in
            try AudioClipLoader(path: path, settings: settings, threads: threads).load()
        }
        switch result {
        case let .success(clips): return (AudioInput(source: path, clips: clips), .loaded)
        case .failure(.noAudioStream) where source == .ifPresent(path: path): return (nil, .noTrack(path: path))
        case let .failure(error) where source == .ifPresent(path: path): return (nil, .unusable(path: path, reason: "\(error)"))
        case let .failure(error): throw error
        }
    }
}
