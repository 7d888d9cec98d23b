import ArgumentParser
import Foundation
import Synchronization
import VLCore
import VLInference
import VLPackFormat
import VLPipeline
import VLTokenizer

/// Set by SIGINT while an answer streams; polled by the generation loop.
private let interrupted = Atomic<Bool>(false)

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk with the model about a video (with its sound) or an image, turn after turn.",
        discussion: """
            Each line read from stdin (a terminal or a pipe) is a question; the answer streams to stdout. \
            Every turn is computed as the official Chat does it (see `vlpack run --help`): the whole \
            conversation is rebuilt and re-tokenized, and the KV cache is reused for the longest common \
            prefix of the new input and the cached one (the reused length and the prefill time go to stderr).

            Commands:
              /video FILE     a new conversation about FILE (its sound too, unless /audio off)
              /image FILE     a new conversation about the image FILE
              /audio on|off   use the video's sound from the next /video on (default on)
              /clear          a new conversation about nothing
              /quit           leave (so does the end of the input)
            Ctrl-C stops the current answer, not the session.

            Examples:
              vlpack chat model.vlpack --video clip.mp4
              printf 'What happens?\\nAnd then?\\n/quit\\n' | vlpack chat model.vlpack --video clip.mp4 --greedy
            """
    )

    @OptionGroup var options: ConversationOptions

    func run() throws {
        let (context, system, model) = (options.context, options.system, options.model)
        let session = try options.makeSession()
        let parameters = try options.sampling.parameters(for: session.decoder.weights)
        var useAudio = true
        signal(SIGINT) { _ in interrupted.store(true, ordering: .relaxed) }

        func upload(_ command: ChatCommand) {
            session.reset(system: system)
            do {
                switch command {
                case let .video(path):
                    let (outcome, timings) = try session.uploadVideo(
                        path, audio: useAudio ? .ifPresent(path: path) : .none, system: system, on: context, progress: StageLog.progress)
                    StageLog.note(outcome, model: model)
                    if !StageLog.interactive { StageLog.uploaded(timings) }
                case let .image(path):
                    let timings = try session.uploadImage(path, system: system, on: context, progress: StageLog.progress)
                    if !StageLog.interactive { StageLog.uploaded(timings) }
                default: break
                }
                StageLog.write("Received.")
            } catch {
                StageLog.write("vlpack: error: \(error)")
            }
        }
        if let video = options.video { upload(.video(video)) } else if let image = options.image { upload(.image(image)) }

        while let line = readLine() {
            switch ChatCommand(line) {
            case .quit: return
            case .empty: continue
            case .clear:
                session.reset(system: system)
                StageLog.write("(new conversation)")
            case let .audio(on):
                useAudio = on
                StageLog.write("sound \(on ? "on" : "off") from the next /video")
            case let .unknown(command):
                StageLog.write("unknown command \(command): /video FILE, /image FILE, /audio on|off, /clear, /quit")
            case let .question(text):
                session.ask(text)
                interrupted.store(false, ordering: .relaxed)
                var streamer = TokenStreamer(tokenizer: session.tokenizer)
                do {
                    let answer = try session.answer(
                        parameters: parameters, on: context, progress: StageLog.progress, onToken: { streamer.add($0) },
                        isCancelled: { interrupted.load(ordering: .relaxed) })
                    streamer.finish(answer.text)
                    StageLog.answered(answer)
                } catch {
                    StageLog.write("vlpack: error: \(error)")
                }
            case let command: upload(command)
            }
        }
    }
}

/// One line of chat input.
enum ChatCommand: Equatable {
    case question(String), video(String), image(String), audio(Bool), clear, quit, empty, unknown(String)

    init(_ line: String) {
        let text = line.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("/") else {
            self = text.isEmpty ? .empty : .question(line)
            return
        }
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch (parts[0], argument) {
        case ("/quit", _), ("/exit", _): self = .quit
        case ("/clear", _): self = .clear
        case ("/audio", "on"): self = .audio(true)
        case ("/audio", "off"): self = .audio(false)
        case ("/video", let f) where !f.isEmpty: self = .video(f)
        case ("/image", let f) where !f.isEmpty: self = .image(f)
        default: self = .unknown(text)
        }
    }
}
