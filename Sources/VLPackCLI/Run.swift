import ArgumentParser
import Foundation
import VLCore
import VLGeneration
import VLInference
import VLPackFormat
import VLPipeline
import VLTokenizer

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer a question about a video (with its sound) or an image, as the official demo does.",
        discussion: """
            The official Chat path (spec §4–§5): the video's 8 frames through the vision branch and, when the \
            model has the audio branch and the file a sound track, its clips through the audio branch; the \
            official prompt (Vicuna "###Human: … ###Assistant:" or LLaMA-2 "[INST] <<SYS>> …", from the \
            file's recorded template unless --template), the audio+video message (audio block first), the \
            video-only message with its timestamp sentence, or the image message; each text segment \
            tokenized with the LlamaTokenizer layer, BOS on the first only, the embedding blocks spliced at \
            the <ImageHere> placeholders; the demo's context window (max_length 2000). Generation samples \
            as the demo (temperature 1.0, top-p 0.9, top-k from generation_config.json else 50) with a \
            seeded generator, or takes the argmax with --greedy; it stops on the template's stop ids or </s>. \
            The answer is post-processed as Chat.answer does (cut at ### or </s>, the text after the last \
            role tag, stripped). A video without sound is answered video only, with a note on stderr.

            The answer streams to stdout; stage timings go to stderr. --json prints {"prompt_ids" (−1 at \
            embedding rows), "ids" (new tokens, stop ids excluded), "text", "answer", "prompt", "timings": \
            {"decode_media_s", "vision_s", "audio_s", "prefill_s", "ttft_s" (media decoding to the first \
            token: the four stages before it), "decode_tokens_per_s", "new_tokens"}} instead.

            Examples:
              vlpack run model.vlpack --video clip.mp4 --prompt "What is happening?" --greedy
              vlpack run model.vlpack --image photo.jpg --prompt "Describe it." --seed 7 --json
              vlpack run model.vlpack --prompt "What is a llama?"
            """
    )

    @OptionGroup var options: ConversationOptions

    @OptionGroup var sound: AudioOptions

    @Option(help: "The question.")
    var prompt: String

    @Flag(help: "Print JSON instead of streaming.")
    var json = false

    func validate() throws {
        guard sound.audio == nil || options.video != nil else {
            throw ValidationError("--audio needs --video: the official code has no template for an image with sound, or for sound alone")
        }
    }

    func run() throws {
        let (context, system) = (options.context, options.system)
        let session = try options.makeSession()
        var timings = UploadTimings()
        if let video = options.video {
            let (outcome, t) = try session.uploadVideo(video, audio: sound.source(video: video), system: system, on: context, progress: StageLog.progress)
            timings = t
            StageLog.note(outcome, model: options.model)
        } else if let image = options.image {
            timings = try session.uploadImage(image, system: system, on: context, progress: StageLog.progress)
        }
        if !StageLog.interactive { StageLog.uploaded(timings) }
        session.ask(prompt)
        var streamer = TokenStreamer(tokenizer: session.tokenizer)
        let answer = try session.answer(
            parameters: options.sampling.parameters(for: session.decoder.weights), on: context, progress: StageLog.progress
        ) { id in
            if !json { streamer.add(id) }
        }
        if json {
            print(Self.json(answer, timings: timings).serialized())
        } else {
            streamer.finish(answer.text)
            StageLog.answered(answer)
        }
    }

    /// What `--json` prints (`generate --json`'s fields, plus the answer, the prompt and every stage's time).
    static func json(_ a: ChatSession.Answer, timings t: UploadTimings) -> JSONValue {
        let g = a.generation
        return .object([
            ("prompt_ids", .array(a.inputIDs.map { JSONValue($0) })), ("ids", .array(a.ids.map { JSONValue($0) })),
            ("text", JSONValue(a.text)), ("answer", JSONValue(a.answer)), ("prompt", JSONValue(a.prompt)),
            (
                "timings",
                .object([
                    ("decode_media_s", JSONValue(t.decodeMedia)), ("vision_s", JSONValue(t.vision)), ("audio_s", JSONValue(t.audio)),
                    // From the start of the media decoding to the first token, every stage of the run.
                    ("prefill_s", JSONValue(g.prefillSeconds)), ("ttft_s", JSONValue(t.decodeMedia + t.vision + t.audio + g.timeToFirstToken)),
                    ("decode_tokens_per_s", JSONValue(g.decodeTokensPerSecond)), ("new_tokens", JSONValue(a.ids.count)),
                    ("reused_positions", JSONValue(a.reusedPositions)), ("prefilled_positions", JSONValue(a.prefilledPositions)),
                ])
            ),
        ])
    }
}

/// The stage lines `run` and `chat` print on stderr: one line per stage as it ends when stderr is a
/// terminal, else one summary line per upload and per answer.
enum StageLog {
    static func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    static let interactive = isatty(STDERR_FILENO) != 0

    static func progress(_ stage: RunStage, _ seconds: Double) {
        if interactive { write(String(format: "[%@ %.3f s]", stage.rawValue as NSString, seconds)) }
    }

    static func note(_ outcome: AudioOutcome, model: String) {
        switch outcome {
        case let .noTrack(path): write("vlpack: note: \(path) has no audio track: video only")
        case let .unusable(path, reason): write("vlpack: note: \(path): the sound cannot be used (\(reason)): video only")
        case .noAudioBranch: write("vlpack: note: \(model) has no audio branch: video only")
        case .loaded, .notRequested: break
        }
    }

    static func uploaded(_ t: UploadTimings) {
        guard t != UploadTimings() else { return }
        write(String(format: "decode media %.3f s, vision branch %.3f s, audio branch %.3f s", t.decodeMedia, t.vision, t.audio))
    }

    static func answered(_ a: ChatSession.Answer) {
        let g = a.generation
        write(
            String(
                format: "prompt %d positions (%d reused from the cache), prefill %.3f s, first token %.3f s, %d new tokens at %.2f tokens/s (%@)",
                a.inputIDs.count, a.reusedPositions, g.prefillSeconds, g.timeToFirstToken, a.ids.count, g.decodeTokensPerSecond,
                g.stop.rawValue as NSString))
    }
}
