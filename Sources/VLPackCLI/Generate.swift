import ArgumentParser
import Foundation
import VLCore
import VLGeneration
import VLInference
import VLPackFormat
import VLPipeline
import VLTokenizer

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text with the LLM of a .vlpack (text only), streamed to stdout.",
        discussion: """
            raw tokenizes --prompt as one segment with BOS and no template; vicuna and llama2 wrap it as a \
            one-turn conversation of the official templates (spec §5.4) and stop on their official stop ids \
            (Vicuna [835] or [2277, 29937], LLaMA-2 [2]); raw stops at </s>. Prompts go through the \
            LlamaTokenizer layer (special and added tokens split out), BOS first. Sampling follows the \
            official demo (temperature 1.0, top-k 50, top-p 0.9) with a seeded generator; --greedy takes \
            the argmax. Longer inputs keep their last 2000 − max_new_tokens positions, as the demo does.

            The new text is streamed to stdout and timings go to stderr; --json prints \
            {"prompt_ids", "ids" (stop ids excluded), "text", "timings": {"prefill_s", "ttft_s", \
            "decode_tokens_per_s", "new_tokens"}} instead.

            Examples:
              vlpack generate model.vlpack --prompt "What is a llama?" --template vicuna --greedy
              vlpack generate model.vlpack --prompt "Once upon a time" --max-new-tokens 64 --seed 7 --json
            """
    )

    @Argument(help: "The .vlpack file (needs the llm component and its tokenizer).")
    var model: String

    @Option(help: "The prompt text.")
    var prompt: String

    @Option(help: "raw, vicuna or llama2.")
    var template: PromptTemplate = .raw

    @Option(help: "System prompt for vicuna/llama2 (the demo's is empty).")
    var system = ""

    @OptionGroup var sampling: GenerationOptions

    @Option(help: "Worker threads.")
    var threads = 2

    @Flag(help: "Print JSON instead of streaming.")
    var json = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let (tokenizer, split) = try loadTokenizer(model)
        let decoder = try LlamaDecoder(weights: Weights(path: model))
        var promptIDs = [Int(tokenizer.model.bosID)] + split.encode(template.prompt(message: prompt, system: system), with: tokenizer).map(Int.init)
        let maxNewTokens = sampling.maxNewTokens
        promptIDs = Array(promptIDs.suffix(GenerationOptions.maxContext - maxNewTokens))
        let parameters = try sampling.parameters(for: decoder.weights)
        let eos = Int(tokenizer.model.eosID)
        let generator = Generator(decoder: decoder, parameters: parameters, stopSequences: template.stopSequences(eosID: eos), eosID: eos)

        var streamer = TokenStreamer(tokenizer: LLMTokenizer(model: tokenizer, split: split))
        let result = try generator.generate(
            input: try decoder.embed(promptIDs), count: promptIDs.count, sequence: promptIDs,
            state: decoder.makeRunState(capacity: promptIDs.count + maxNewTokens + 1),
            on: ExecutionContext(threads: threads)
        ) { id in if !json { streamer.add(id) } }
        let text = try tokenizer.decode(result.ids.map(Int32.init))
        if json {
            print(
                JSONValue.object([
                    ("prompt_ids", .array(promptIDs.map { JSONValue($0) })), ("ids", .array(result.ids.map { JSONValue($0) })),
                    ("text", JSONValue(text)),
                    (
                        "timings",
                        .object([
                            ("prefill_s", JSONValue(result.prefillSeconds)), ("ttft_s", JSONValue(result.timeToFirstToken)),
                            ("decode_tokens_per_s", JSONValue(result.decodeTokensPerSecond)),
                            ("new_tokens", JSONValue(result.ids.count)),
                        ])
                    ),
                ]).serialized())
            return
        }
        streamer.finish(text)
        FileHandle.standardError.write(
            Data(
                String(
                    format: "prompt %d tokens, prefill %.3f s, first token %.3f s, %d new tokens at %.2f tokens/s (%@)\n",
                    promptIDs.count, result.prefillSeconds, result.timeToFirstToken, result.ids.count, result.decodeTokensPerSecond,
                    result.stop.rawValue as NSString
                ).utf8))
    }
}

extension PromptTemplate: ExpressibleByArgument {}
