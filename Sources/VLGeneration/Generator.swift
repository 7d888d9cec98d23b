import VLCore
import VLInference

/// What a generation produced, and how fast.
public struct GenerationResult: Sendable {
    /// The new tokens, stop sequence (or end-of-sequence id) excluded.
    public var ids: [Int]
    /// The ids that ended the run and were removed from `ids` (a stop sequence, or the end-of-sequence
    /// id); empty when `maxNewTokens` ended it. `ids + stopIDs` is what transformers' `generate` returns.
    public var stopIDs: [Int] = []
    /// The logits at the input's last position (before any warper): what chose the first token.
    public var firstLogits: [Float] = []
    /// Why it ended.
    public var stop: StopReason
    public var prefillSeconds: Double
    /// Prefill plus picking the first token.
    public var timeToFirstToken: Double
    /// One-token forward passes after the first token, and the time they took.
    public var decodeSteps: Int
    public var decodeSeconds: Double
    public var decodeTokensPerSecond: Double { decodeSteps > 0 ? Double(decodeSteps) / decodeSeconds : 0 }

    public enum StopReason: String, Sendable { case stopSequence = "stop", endOfSequence = "eos", maxNewTokens = "length", cancelled }
}

/// The generation loop shared by every decoder: prefill the input, then pick one token at a time
/// (argmax, or the warpers and a seeded draw), streaming each to `onToken`, until a stop sequence
/// ends the ids or `maxNewTokens` is reached. Stop sequences are the literal id lists of the
/// template (Vicuna `[835]` / `[2277, 29937]`, LLaMA-2 `[2]`); the one that ended the run is removed.
/// The end-of-sequence id also ends it, as transformers' `generate` stops on the config's
/// `eos_token_id` whatever the stopping criteria (the official demo relies on both).
public struct Generator: Sendable {
    public let decoder: LlamaDecoder
    public let parameters: GenerationParameters
    public let stopSequences: [[Int]]
    public let eosID: Int?

    public init(decoder: LlamaDecoder, parameters: GenerationParameters, stopSequences: [[Int]], eosID: Int? = 2) {
        self.decoder = decoder
        self.parameters = parameters
        self.stopSequences = stopSequences.filter { !$0.isEmpty }
        self.eosID = eosID
    }

    /// Continues `state` (which may already hold a prefix) with `input` embeddings [L, d], where
    /// `sequence` holds the ids so far (the repetition penalty and min-length read them).
    /// `isCancelled` is polled after each token (Ctrl-C in a chat stops the answer, not the session).
    public func generate(
        input embeddings: [Float], count: Int, sequence: [Int], state: LlamaDecoder.RunState,
        on context: ExecutionContext, onToken: (Int) -> Void = { _ in }, isCancelled: () -> Bool = { false }
    ) throws -> GenerationResult {
        var sampler = Sampler(seed: parameters.seed)
        var ids = sequence, generated: [Int] = []
        let (first, prefill) = try timed {
            try decoder.forward(embeddings: embeddings, count: count, state: state, logits: .last, on: context)
        }
        var logits = first
        var decodeSeconds = 0.0, decodeSteps = 0, firstToken = prefill, stop = GenerationResult.StopReason.maxNewTokens
        var stopIDs: [Int] = []
        while generated.count < parameters.maxNewTokens {
            let (next, pickSeconds) = timed { pick(&logits, sequence: ids, sampler: &sampler) }
            if generated.isEmpty { firstToken += pickSeconds }
            generated.append(next)
            ids.append(next)
            if let s = stopSequences.first(where: { generated.count >= $0.count && Array(generated.suffix($0.count)) == $0 }) {
                generated.removeLast(s.count)
                (stop, stopIDs) = (.stopSequence, s)
                break
            }
            if next == eosID {
                generated.removeLast()
                (stop, stopIDs) = (.endOfSequence, [next])
                break
            }
            onToken(next)
            guard generated.count < parameters.maxNewTokens else { break }
            if isCancelled() {
                stop = .cancelled
                break
            }
            let (row, seconds) = try timed {
                try decoder.forward(embeddings: try decoder.embed([next]), count: 1, state: state, logits: .last, on: context)
            }
            logits = row
            decodeSeconds += seconds
            decodeSteps += 1
        }
        return GenerationResult(
            ids: generated, stopIDs: stopIDs, firstLogits: first, stop: stop, prefillSeconds: prefill, timeToFirstToken: firstToken,
            decodeSteps: decodeSteps, decodeSeconds: decodeSeconds)
    }

    private func pick(_ logits: inout [Float], sequence: [Int], sampler: inout Sampler) -> Int {
        if parameters.greedy { return LlamaDecoder.argmax(logits) }
        LogitsWarper.apply(&logits, sequence: sequence, eosID: eosID, parameters: parameters)
        return sampler.draw(LogitsWarper.softmax(logits))
    }
}
