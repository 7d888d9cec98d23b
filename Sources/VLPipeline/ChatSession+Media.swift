import VLCore
import VLInference
import VLTokenizer

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
    public func uploadVideo(
        _ path: String, audio source: AudioSource, system: String? = nil, on context: ExecutionContext
    ) throws -> (AudioOutcome, UploadTimings) {
        guard let vision = pipeline.vision else { throw PipelineError.modelHasNoVisionBranch(path: pipeline.pack.path) }
        var timings = UploadTimings()
        let (media, decodeFrames) = try timed { try MediaInput.video(path, frames: Self.demoFrames, size: pipeline.imageSize) }
        let ((sound, outcome), decodeSound) = try timed { try pipeline.loadAudio(source, threads: context.threads) }
        timings.decodeMedia = decodeFrames + decodeSound
        let (video, visionSeconds) = try timed { try vision.forward(media.frames, count: media.frameCount, state: vision.makeRunState(), on: context) }
        timings.vision = visionSeconds
        if let sound, let audio = pipeline.audio {
            let (audioOut, audioSeconds) = try timed { try audio.forward(sound.mel, count: sound.clipCount, state: audio.makeRunState(), on: context) }
            timings.audio = audioSeconds
            try upload(.videoWithAudio, blocks: [audioOut, video], system: Conversation.demoSystem(forImage: false))
        } else {
            try upload(.video(timestamps: media.message ?? ""), blocks: [video], system: Conversation.demoSystem(forImage: false))
        }
        if let system { overrideSystem(system) }
        return (outcome, timings)
    }

    /// The official `Chat.upload_img`: one frame through the vision branch, the image message, the
    /// demo's image system prompt (or `system`).
    public func uploadImage(_ path: String, system: String? = nil, on context: ExecutionContext) throws -> UploadTimings {
        guard let vision = pipeline.vision else { throw PipelineError.modelHasNoVisionBranch(path: pipeline.pack.path) }
        var timings = UploadTimings()
        let (media, decode) = try timed { try MediaInput.image(path, size: pipeline.imageSize) }
        timings.decodeMedia = decode
        let (image, seconds) = try timed { try vision.forward(media.frames, count: 1, state: vision.makeRunState(), on: context) }
        timings.vision = seconds
        try upload(.image, blocks: [image], system: system ?? Conversation.demoSystem(forImage: true))
        return timings
    }

    /// Frames per video in the demo (`load_video(n_frms=8)`).
    public static let demoFrames = 8
}
