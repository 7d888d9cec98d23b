import ArgumentParser
import VLCore
import VLGeneration
import VLInference

/// The sampling options of `generate`, `run` and `chat` (the official demo's by default).
struct GenerationOptions: ParsableArguments {
    @Option(help: "At most this many new tokens (the demo's 300).")
    var maxNewTokens = 300

    @Flag(help: "Take the most likely token at every step (reproducible).")
    var greedy = false

    @Option(help: "Sampling temperature (the demo's 1.0).")
    var temperature: Float = 1.0

    @Option(help: "Top-k (0 disables it). Default: the top_k convert recorded from the model's generation_config.json, else 50 (transformers' default).")
    var topK: Int?

    @Option(help: "Top-p (1 disables it; the demo's 0.9).")
    var topP = 0.9

    @Option(help: "Seed of the sampling generator.")
    var seed: UInt64 = 0

    /// The official demo's context: input and new tokens together at most this long.
    static let maxContext = 2000

    func validate() throws {
        guard maxNewTokens >= 1, maxNewTokens < Self.maxContext else { throw ValidationError("--max-new-tokens must be in 1..<\(Self.maxContext)") }
        guard temperature > 0, (topK ?? 0) >= 0, topP > 0, topP <= 1 else {
            throw ValidationError("--temperature must be > 0, --top-k >= 0 and --top-p in (0, 1]")
        }
    }

    /// The parameters, with the model's recorded top-k when --top-k is not given.
    func parameters(for weights: Weights) throws -> GenerationParameters {
        var p = GenerationParameters()
        p.greedy = greedy
        p.temperature = temperature
        p.topK = try topK ?? GenerationParameters.topK(recorded: weights.config(.llm)[key: "top_k"]?.int)
        p.topP = topP
        p.seed = seed
        p.maxNewTokens = maxNewTokens
        return p
    }
}
