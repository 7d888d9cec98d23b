import ArgumentParser
import VLPipeline

/// `--audio FILE` / `--no-audio`, as `embed` and `run` take them.
struct AudioOptions: ParsableArguments {
    @Option(help: "Take the sound from this file (audio or video) instead of the video's own track; then it must have a sound track.")
    var audio: String?

    @Flag(help: "Do not use the sound.")
    var noAudio = false

    func validate() throws {
        guard !(noAudio && audio != nil) else { throw ValidationError("--audio FILE and --no-audio exclude each other") }
    }

    /// `--audio FILE` requires its sound; otherwise the video's own track is used if present, unless
    /// `--no-audio` (or there is no video).
    func source(video: String?) -> AudioSource {
        audio.map { .required(path: $0) } ?? (noAudio ? .none : video.map { .ifPresent(path: $0) } ?? .none)
    }
}
