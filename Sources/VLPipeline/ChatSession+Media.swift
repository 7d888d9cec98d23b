import VLCore
import VLInference
import VLTokenizer

/// The stages of a run, as progress reports name them.
public enum RunStage: String, Sendable {
    case decodeMedia = "decode media"
    case vision = "vision branch"
    case audio = "audio branch"
    case prefill = "prefill"
}

/// Seconds spent on each stage of an upload.
public struct UploadTimings: Sendable, Equatable {
    public var decodeMedia = 0.0
    public var vision = 0.0
    public var audio = 0.0
    public init() {}
}

extension ChatSession {
    /// The official `Chat.upload_video`: 8 frames (`n_frms=8`) through the vision branch and, when the
    /// source gives sound and the model has the audio branch, its clips through the audio branch;
    /// with sound the audio+video message (audio block first), else the video message with its
    /// timestamp sentence. The demo's video system prompt ("") is set first; `system` overrides it
    /// after the upload (the official upload clears it when there is sound).
    /// `progress` hears each stage as it ends, with its seconds.
    public func uploadVideo(
        _ path: String, audio source: AudioSource, system: String? = nil, on context: ExecutionContext,
        progress: (RunStage, Double) -> Void = { _, _ in }
    ) throws -> (AudioOutcome, UploadTimings) {
        guard let vision = pipeline.vision else { throw PipelineError.modelHasNoVisionBranch(path: pipeline.pack.path) }
        var timings = UploadTimings()
        let (media, decodeFrames) = try timed { try MediaInput.video(path, frames: Self.demoFrames, size: pipeline.imageSize) }
        let ((sound, outcome), decodeSound) = try timed { try pipeline.loadAudio(source, threads: context.threads) }
        timings.decodeMedia = decodeFrames + decodeSound
        progress(.decodeMedia, timings.decodeMedia)
        let (video, visionSeconds) = try timed { try vision.forward(media.frames, count: media.frameCount, state: vision.makeRunState(), on: context) }
        timings.vision = visionSeconds
        progress(.vision, visionSeconds)
        if let sound, let audio = pipeline.audio {
            let (audioOut, audioSeconds) = try timed { try audio.forward(sound.mel, count: sound.clipCount, state: audio.makeRunState(), on: context) }
            timings.audio = audioSeconds
            progress(.audio, audioSeconds)
            try upload(.videoWithAudio, blocks: [audioOut, video], system: Conversation.demoSystem(forImage: false))
        } else {
            try upload(.video(timestamps: media.message ?? ""), blocks: [video], system: Conversation.demoSystem(forImage: false))
        }
        if let system { overrideSystem(system) }
        return (outcome, timings)
    }

    /// The official `Chat.upload_img`: one frame through the vision branch, the image message, the
    /// demo's image system prompt (or `system`).
    public func uploadImage(
        _ path: String, system: String? = nil, on context: ExecutionContext, progress: (RunStage, Double) -> Void = { _, _ in }
    ) throws -> UploadTimings {
        guard let vision = pipeline.vision else { throw PipelineError.modelHasNoVisionBranch(path: pipeline.pack.path) }
        var timings = UploadTimings()
        let (media, decode) = try timed { try MediaInput.image(path, size: pipeline.imageSize) }
        timings.decodeMedia = decode
        progress(.decodeMedia, decode)
        let (image, seconds) = try timed { try vision.forward(media.frames, count: 1, state: vision.makeRunState(), on: context) }
        timings.vision = seconds
        progress(.vision, seconds)
        try upload(.image, blocks: [image], system: system ?? Conversation.demoSystem(forImage: true))
        return timings
    }

    /// Frames per video in the demo (`load_video(n_frms=8)`).
    public static let demoFrames = 8
}
