import VLCore
import VLInference
import VLTokenizer

/// What a quantized LLM lost against its float model on one text, over llama-perplexity's positions.
public struct QuantizationLossResult: Sendable {
    public let chunks: PerplexityChunks
    /// KL(float ‖ quantized), top-1 agreement and both NLLs over `chunks.positions` positions.
    public let statistics: NextTokenStatistics

    /// The figures as `vlpack verify --against --json` prints them (after `against` and `text`):
    /// ctx, chunks, tokens, positions, mean_kl (nats) and mean_kl_stderr, max_kl, top1_agreement and
    /// its stderr, ppl (the model's) and ppl_base (the float model's) with their stderr, ppl_ratio
    /// (ppl / ppl_base) and ln_ppl_ratio with their stderr.
    public var json: [(key: String, value: JSONValue)] {
        let s = statistics
        let kl = s.meanKL, top = s.top1Agreement, ppl = s.perplexity, base = s.perplexityBase
        let ratio = s.perplexityRatio, lnRatio = s.logPerplexityRatio
        return [
            ("ctx", JSONValue(chunks.ctx)), ("chunks", JSONValue(chunks.count)), ("tokens", JSONValue(chunks.tokenCount)),
            ("positions", JSONValue(s.count)), ("mean_kl", JSONValue(kl.value)), ("mean_kl_stderr", JSONValue(kl.standardError)),
            ("max_kl", JSONValue(s.maxKL)), ("top1_agreement", JSONValue(top.value)), ("top1_agreement_stderr", JSONValue(top.standardError)),
            ("ppl", JSONValue(ppl.value)), ("ppl_stderr", JSONValue(ppl.standardError)),
            ("ppl_base", JSONValue(base.value)), ("ppl_base_stderr", JSONValue(base.standardError)),
            ("ppl_ratio", JSONValue(ratio.value)), ("ppl_ratio_stderr", JSONValue(ratio.standardError)),
            ("ln_ppl_ratio", JSONValue(lnRatio.value)), ("ln_ppl_ratio_stderr", JSONValue(lnRatio.standardError)),
        ]
    }
}

/// A (quantized) decoder against its float model on any text, the way `llama-perplexity
/// --kl-divergence` compares a quantization with its base: the same chunks and scored positions
/// (`PerplexityChunks`) and the same figures (`NextTokenStatistics`), with no Python and no saved
/// base logits — both models run here, chunk by chunk.
///
/// Invariants: both decoders have the same shape (hidden, layers, heads, intermediate, vocab) and,
/// when both files carry one, the same tokenizer; a decoder against itself gives KL exactly 0,
/// top-1 agreement 1 and equal perplexities.
///
/// Cost: one prefill of ctx positions with every logits row per chunk and model (a 1B model
/// prefills ≈ 60 tokens/s on two cores: 2 × 512 positions ≈ 17 s a chunk) plus ≈ 3·V double
/// operations per scored position. Memory: both models' mapped weights, one KV cache of ctx
/// positions each, and two chunks' logits ([ctx, V] f32 each: 65 MB at 512 × 32000); no chunk's
/// logits outlive it.
public struct QuantizationLossCheck: Sendable {
    /// The model judged (usually quantized) and the float model it came from.
    public let model: LlamaDecoder, base: LlamaDecoder

    public init(model: LlamaDecoder, base: LlamaDecoder) throws(VerifyError) {
        let m = model.config, b = base.config
        for (key, mv, bv) in [
            ("hidden", m.hidden, b.hidden), ("layers", m.layers, b.layers), ("heads", m.heads, b.heads),
            ("intermediate", m.intermediate, b.intermediate), ("vocab", m.vocab, b.vocab),
        ] where mv != bv {
            throw .modelConfigMismatch(key: key, model: mv, base: bv)
        }
        let name = TensorPrefix.tokenizerTensor
        if let mt = model.weights.pack.tensor(named: name), let bt = base.weights.pack.tensor(named: name) {
            let mb = model.weights.pack.bytes(of: mt), bb = base.weights.pack.bytes(of: bt)
            guard mb.withUnsafeBytes({ x in bb.withUnsafeBytes { x.elementsEqual($0) } }) else {
                throw .tokenizersDiffer(modelBytes: mb.count, baseBytes: bb.count)
            }
        }
        self.model = model
        self.base = base
    }

    /// The text's tokens as llama-perplexity takes them: one trailing "\n" dropped (as `-f` reads a
    /// file), then plain SentencePiece encoding of the whole text (no special-token parsing) with
    /// BOS in front. O(text length).
    public static func tokens(ofText bytes: [UInt8], tokenizer: SentencePieceTokenizer) -> [Int] {
        let text = bytes.last == UInt8(ascii: "\n") ? bytes.dropLast() : bytes[...]
        let ids = text.withUnsafeBufferPointer { tokenizer.encode(utf8: $0) }
        return [Int(tokenizer.model.bosID)] + ids.map(Int.init)
    }

    /// Runs every chunk through both models and accumulates the scored positions. `progress` is
    /// called after each chunk with its index (from 0) and the statistics so far.
    public func run(
        tokens: [Int], bos: Int, chunks: PerplexityChunks, on context: ExecutionContext,
        progress: (_ chunk: Int, _ statistics: NextTokenStatistics) -> Void = { _, _ in }
    ) throws(InferenceError) -> QuantizationLossResult {
        let V = model.config.vocab
        let modelState = model.makeRunState(capacity: chunks.ctx), baseState = base.makeRunState(capacity: chunks.ctx)
        var statistics = NextTokenStatistics()
        for chunk in 0..<chunks.count {
            let ids = chunks.input(ofChunk: chunk, tokens: tokens, bos: bos)
            modelState.truncate(to: 0)
            baseState.truncate(to: 0)
            let baseLogits = try base.forward(embeddings: base.embed(ids), count: ids.count, state: baseState, logits: .all, on: context)
            let modelLogits = try model.forward(embeddings: model.embed(ids), count: ids.count, state: modelState, logits: .all, on: context)
            for j in chunks.scoredRows {
                let row = (j * V)..<((j + 1) * V)
                statistics.add(base: baseLogits[row], model: modelLogits[row], target: ids[j + 1])
            }
            progress(chunk, statistics)
        }
        return QuantizationLossResult(chunks: chunks, statistics: statistics)
    }
}
