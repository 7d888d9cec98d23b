import ArgumentParser
import Foundation
import VLCore
import VLInference
import VLPackFormat
import VLPipeline

extension Bench {
    /// Times the LLM decoder's prefill and one-token decoding and sets them against this machine's
    /// limits measured in the same process.
    struct LLM: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: ComponentName.llm.rawValue,
            abstract: "Time the LLM decoder: prefill (pp) and one-token decoding (tg), like llama-bench.",
            discussion: """
                Prefills --prompt-tokens fixed pseudo-random token ids in one call, then decodes --gen-tokens \
                tokens one at a time (argmax) on the same KV cache, --runs times. Decoding is memory-bound: \
                every weight is read once per token, so it prints the weight bytes streamed per second next \
                to this machine's read bandwidth measured in the same process. Prefill is compute-bound: it \
                prints GFLOP/s next to the split sgemm's rate at the FFN shape. Peak RSS includes the mapping.

                Example (compare with llama-bench -p 512 -n 128 -t 2 on the GGUF `vlpack export` writes):
                  vlpack bench llm model-q4_k_m.vlpack --prompt-tokens 512 --gen-tokens 128 --threads 2
                """
        )

        @Argument(help: "The .vlpack file (needs the llm component).")
        var file: String

        @Option(help: "Prompt tokens prefilled in one call.")
        var promptTokens = 512

        @Option(help: "Tokens decoded one at a time after the prompt.")
        var genTokens = 128

        @Option(help: "Timed runs (the median is reported).")
        var runs = 1

        @Option(
            help:
                "Untimed short passes first (an 8-token prefill and one decoding step each): they page in every weight and make the regrouped Q4_0 copies, as llama-bench's warmup run does."
        )
        var warmup = 1

        @Option(help: "Worker threads.")
        var threads = 2

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard promptTokens >= 1, genTokens >= 1, runs >= 1, threads >= 1, warmup >= 0 else {
                throw ValidationError("--prompt-tokens, --gen-tokens, --runs and --threads must be at least 1, --warmup at least 0")
            }
        }

        func run() throws {
            let context = ExecutionContext(threads: threads)
            let decoder = try LlamaDecoder(weights: Weights(path: file))
            let c = decoder.config
            let prompt = SyntheticInput.tokens(count: promptTokens, vocab: c.vocab)
            for _ in 0..<warmup {
                let state = decoder.makeRunState(capacity: 9)
                let first = try decoder.forward(
                    embeddings: try decoder.embed(Array(prompt.prefix(8))), count: min(8, promptTokens), state: state, logits: .last, on: context)
                _ = try decoder.forward(embeddings: try decoder.embed([LlamaDecoder.argmax(first)]), count: 1, state: state, logits: .last, on: context)
            }
            var prefill: [Double] = [], decode: [Double] = []
            for _ in 0..<runs {
                let state = decoder.makeRunState(capacity: promptTokens + genTokens)
                let (first, p) = try timed {
                    try decoder.forward(embeddings: try decoder.embed(prompt), count: promptTokens, state: state, logits: .last, on: context)
                }
                var next = LlamaDecoder.argmax(first)
                let (_, d) = try timed {
                    for _ in 0..<genTokens {
                        next = LlamaDecoder.argmax(
                            try decoder.forward(
                                embeddings: try decoder.embed([next]), count: 1, state: state,
                                logits: .last, on: context))
                    }
                }
                prefill.append(p)
                decode.append(d)
            }
            let peakRSS = Bench.peakRSSBytes()
            let pp = Double(promptTokens) / prefill.sorted()[runs / 2], tg = Double(genTokens) / decode.sorted()[runs / 2]
            // Bytes one decoding step streams: every llm tensor but the embedding table (one row of it).
            let llmTensors = decoder.weights.pack.tensors(under: TensorPrefix.owned(by: .llm))  // the tokenizer bytes lie under none
            let weightBytes = llmTensors.filter { !TensorPrefix.llmEmbedTokens.contains($0.name) }.reduce(0) { $0 + $1.nbytes }
            let parameters = llmTensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
            let bandwidth = MemoryBandwidth.measure(on: context)
            let gemm = LinearRate.measure(rows: promptTokens, out: c.intermediate, in: c.hidden, on: context)
            let storages = Dictionary(grouping: llmTensors, by: { $0.storage.name }).mapValues(\.count)
            let prefillGFLOPs = 2 * Double(parameters) * pp / 1e9

            if json {
                print(
                    JSONValue.object([
                        ("file", JSONValue(file)), ("threads", JSONValue(threads)), ("parameters", JSONValue(parameters)),
                        ("storages", .object(storages.sorted { $0.key < $1.key }.map { ($0.key, JSONValue($0.value)) })),
                        ("pp_tokens", JSONValue(promptTokens)), ("pp_tokens_per_s", JSONValue(pp)), ("pp_gflops", JSONValue(prefillGFLOPs)),
                        ("tg_tokens", JSONValue(genTokens)), ("tg_tokens_per_s", JSONValue(tg)),
                        ("weight_bytes_per_token", JSONValue(weightBytes)), ("tg_weight_gb_per_s", JSONValue(Double(weightBytes) * tg / 1e9)),
                        ("memory_read_gb_per_s", JSONValue(bandwidth.gigabytesPerSecond)),
                        ("gemm", .object([("m", JSONValue(gemm.m)), ("n", JSONValue(gemm.n)), ("k", JSONValue(gemm.k)), ("gflops", JSONValue(gemm.gflops))])),
                        ("peak_rss_bytes", JSONValue(peakRSS)),
                    ]).serialized())
                return
            }
            let storageList = storages.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            print(String(format: "llm: %.2f B parameters, %d threads, tensors %@", Double(parameters) / 1e9, threads, storageList as NSString))
            print(
                String(
                    format: "pp%d: %.1f tokens/s = %.1f GFLOP/s (split sgemm at %d×%d×%d: %.1f GFLOP/s)",
                    promptTokens, pp, prefillGFLOPs, gemm.m, gemm.n, gemm.k, gemm.gflops))
            print(
                String(
                    format: "tg%d: %.2f tokens/s = %.1f GB/s of weights (%.1f MB per token; memory read %.1f GB/s)",
                    genTokens, tg, Double(weightBytes) * tg / 1e9, Double(weightBytes) / 1e6, bandwidth.gigabytesPerSecond))
            print(String(format: "peak RSS %.2f GiB (mapping and KV cache included)", Double(peakRSS) / Double(1 << 30)))
        }
    }
}
