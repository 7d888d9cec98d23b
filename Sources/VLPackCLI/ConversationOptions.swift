import ArgumentParser
import VLCore
import VLInference
import VLPackFormat
import VLPipeline
import VLTokenizer

/// The model, media and conversation options `run` and `chat` share.
struct ConversationOptions: ParsableArguments {
    @Argument(help: "The .vlpack file (the LLM and the branches the inputs need).")
    var model: String

    @Option(help: "A video file; its sound is used when the model has the audio branch.")
    var video: String?

    @Option(help: "A still image.")
    var image: String?

    @Option(help: "vicuna or llama2 (default: the template the file recorded).")
    var template: PromptTemplate?

    @Option(help: "System prompt (default: the demo's: empty for a video, its image sentence for an image).")
    var system: String?

    @OptionGroup var sampling: GenerationOptions

    @Option(help: "Worker threads.")
    var threads = 2

    func validate() throws {
        guard video == nil || image == nil else { throw ValidationError("pass at most one of --video FILE or --image FILE") }
        guard template != .raw else { throw ValidationError("--template must be vicuna or llama2") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    var context: ExecutionContext { ExecutionContext(threads: threads) }

    /// The model opened once and a session over it, with the chosen template.
    func makeSession() throws -> ChatSession {
        let pipeline = try attributing(to: model) { try Pipeline(pack: VLPackFile(path: model)) }
        return try attributing(to: model) {
            try ChatSession(pipeline: pipeline, template: template ?? ChatSession.recordedTemplate(of: pipeline), system: system)
        }
    }
}
