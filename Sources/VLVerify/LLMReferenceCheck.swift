import Foundation
import VLCore
import VLInference

/// The decoder against a reference's `input.ids`, `llm.logits` (teacher-forced, every position) and
/// `llm.greedy_ids` (Formats/REFERENCE.md).
///
/// Float weights are judged by the float rule on the logits (rel. L2 ≤ 1e-4) and by greedy ids equal
/// to the reference's, step by step: a step whose id differs is excused only when the reference's
/// top-2 margin there is below `marginFactor` × that step's logits max_abs (a near-tie that f32
/// rounding may flip), and the walk continues teacher-forced from the reference's id. Quantized
/// weights are judged by the mean KL divergence of the teacher-forced next-token distributions
/// (what `llama-perplexity --kl-divergence` reports) against their rule's bound (`llm_q8_0`,
/// `llm_q4_k_m`); their greedy ids are reported.
public struct LLMCheckResult: Sendable {
    public let positions: Int
    public let logits: ErrorMetrics
    public let tolerance: Tolerance
    /// Positions whose argmax equals the reference's, over all positions.
    public let top1Agreement: Double
    /// Mean over positions of KL(reference ‖ model), in nats.
    public let meanKL: Double
    public let expectedGreedy: [Int]
    /// The model's argmax at each step, fed the reference's ids (equal to free-running greedy
    /// decoding as long as they agree).
    public let greedy: [Int]
    /// Steps whose id differs within the top-2 margin rule, and those that differ beyond it.
    public let excusedSteps: [Int]
    public let mismatchedSteps: [Int]
    public var greedyEqual: Bool { mismatchedSteps.isEmpty }
    /// Float weights: the float rule on the logits and equal greedy ids; quantized weights: the mean
    /// KL bound of their rule (greedy ids reported only: a quantized model may legitimately diverge).
    public var pass: Bool {
        guard tolerance.judged else { return true }
        if let maxMeanKL = tolerance.maxMeanKL { return meanKL <= maxMeanKL }
        return tolerance.accepts(logits) && greedyEqual
    }
    public var verdict: String { !tolerance.judged ? "REPORT" : pass ? "PASS" : "FAIL" }

    public var json: JSONValue {
        [
            "name": .string(StageName.llmLogits.rawValue), "positions": JSONValue(positions), "max_abs": JSONValue(logits.maxAbs),
            "rel_l2": JSONValue(logits.relL2), "cosine": JSONValue(logits.cosine), "top1_agreement": JSONValue(top1Agreement),
            "mean_kl": JSONValue(meanKL), "greedy_ids": .array(greedy.map { JSONValue($0) }),
            "greedy_equal": JSONValue(greedyEqual), "excused_steps": .array(excusedSteps.map { JSONValue($0) }),
            "mismatched_steps": .array(mismatchedSteps.map { JSONValue($0) }), "pass": JSONValue(pass), "tolerance": tolerance.json,
        ]
    }
}

public enum LLMReferenceCheck {
    /// nil when the reference holds no `llm.logits`.
    public static func run(decoder: LlamaDecoder, reference: ReferenceFile, on context: ExecutionContext) throws -> LLMCheckResult? {
        guard let (want, shape) = try reference.tensor(StageName.llmLogits.rawValue, rank: 2) else { return nil }
        guard let (idValues, _) = try reference.tensor(StageName.inputIDs.rawValue, rank: 1) else {
            throw VerifyError.noStageInReference(expected: [StageName.inputIDs.rawValue])
        }
        let ids = idValues.map { Int($0) }
        let V = decoder.config.vocab
        guard shape == [ids.count, V] else {
            throw VerifyError.referenceSizeMismatch(stage: StageName.llmLogits.rawValue, reference: want.count, model: ids.count * V)
        }
        let expected = try reference.tensor(StageName.llmGreedyIDs.rawValue, rank: 1)?.values.map { Int($0) } ?? []
        let capacity = ids.count + expected.count + 1
        let got = try decoder.forward(
            embeddings: try decoder.embed(ids), count: ids.count,
            state: decoder.makeRunState(capacity: capacity), on: context)
        let referenceSteps = try reference.tensor(StageName.llmGreedyLogits.rawValue, rank: 2)
        if let (values, shape) = referenceSteps, shape != [expected.count, V] {
            throw VerifyError.referenceSizeMismatch(stage: StageName.llmGreedyLogits.rawValue, reference: values.count, model: expected.count * V)
        }
        let rule = Tolerance.forWeights(under: TensorPrefix.owned(by: .llm), in: decoder.weights.pack).forLLM
        // The margin excuse is for f32 rounding flipping a near-tie; quantized ids are only reported.
        let steps = try compareGreedy(
            decoder, prompt: try decoder.embed(ids), count: ids.count, expected: expected, referenceLogits: rule == .float ? referenceSteps?.values : nil,
            state: decoder.makeRunState(capacity: capacity), on: context)
        var statistics = NextTokenStatistics()
        for i in 0..<ids.count {
            statistics.add(base: want[(i * V)..<((i + 1) * V)], model: got[(i * V)..<((i + 1) * V)])
        }
        return LLMCheckResult(
            positions: ids.count, logits: ErrorMetrics(got: got, want: want),
            tolerance: rule,
            top1Agreement: statistics.top1Agreement.value, meanKL: statistics.meanKL.value,
            expectedGreedy: expected, greedy: steps.ids, excusedSteps: steps.excused, mismatchedSteps: steps.mismatched)
    }

    /// A differing greedy step is excused when the reference's top-2 margin is below this many times
    /// the step's logits max_abs.
    public static let marginFactor: Float = 10

    /// The greedy walk after the `count` prompt rows `prompt` [count, d], one step per expected id,
    /// always continuing from the expected id (teacher-forced), so that one excused near-tie does not
    /// derail the steps after it.
    static func compareGreedy(
        _ decoder: LlamaDecoder, prompt: [Float], count: Int, expected: [Int], referenceLogits: [Float]?, state: LlamaDecoder.RunState,
        on context: ExecutionContext
    ) throws -> (ids: [Int], excused: [Int], mismatched: [Int]) {
        guard !expected.isEmpty else { return ([], [], []) }
        let V = decoder.config.vocab
        var ids: [Int] = [], excused: [Int] = [], mismatched: [Int] = []
        var logits = try decoder.forward(embeddings: prompt, count: count, state: state, logits: .last, on: context)
        for (step, want) in expected.enumerated() {
            let mine = LlamaDecoder.argmax(logits)
            ids.append(mine)
            if mine != want {
                if let referenceLogits, within(margin: referenceLogits[(step * V)..<((step + 1) * V)], of: logits) {
                    excused.append(step)
                } else {
                    mismatched.append(step)
                }
            }
            guard step + 1 < expected.count else { break }
            logits = try decoder.forward(embeddings: try decoder.embed([want]), count: 1, state: state, logits: .last, on: context)
        }
        return (ids, excused, mismatched)
    }

    /// Whether the reference's top-2 margin is below marginFactor × max|model − reference|.
    static func within(margin reference: ArraySlice<Float>, of model: [Float]) -> Bool {
        var first = -Float.infinity, second = -Float.infinity, maxAbs: Float = 0
        for (r, m) in zip(reference, model) {
            if r > first { (first, second) = (r, first) } else if r > second { second = r }
            maxAbs = max(maxAbs, abs(r - m))
        }
        return first - second < marginFactor * maxAbs
    }
}
