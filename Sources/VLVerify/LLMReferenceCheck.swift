import Foundation
import VLCore
import VLInference

/// The decoder against a reference's `input.ids`, `llm.logits` (teacher-forced, every position) and
/// `llm.greedy_ids` (Formats/REFERENCE.md).
///
/// Float weights are judged by the float rule on the logits (rel. L2 ≤ 1e-4) and by greedy ids equal
/// to the reference's. Quantized weights are reported — top-1 agreement and the mean KL divergence
/// of the next-token distributions (what `llama-perplexity --kl-divergence` reports) — until their
/// bounds are set from measurements against llama.cpp's own quantizations.
public struct LLMCheckResult: Sendable {
    public let positions: Int
    public let logits: ErrorMetrics
    public let tolerance: Tolerance
    /// Positions whose argmax equals the reference's, over all positions.
    public let top1Agreement: Double
    /// Mean over positions of KL(reference ‖ model), in nats.
    public let meanKL: Double
    public let expectedGreedy: [Int]
    public let greedy: [Int]
    public var greedyEqual: Bool { greedy == expectedGreedy }
    public var pass: Bool { !tolerance.judged || (tolerance.accepts(logits) && greedyEqual) }
    public var verdict: String { !tolerance.judged ? "REPORT" : pass ? "PASS" : "FAIL" }

    public var json: JSONValue {
        [
            "name": .string(StageName.llmLogits.rawValue), "positions": JSONValue(positions), "max_abs": JSONValue(logits.maxAbs),
            "rel_l2": JSONValue(logits.relL2), "cosine": JSONValue(logits.cosine), "top1_agreement": JSONValue(top1Agreement),
            "mean_kl": JSONValue(meanKL), "greedy_ids": .array(greedy.map { JSONValue($0) }),
            "greedy_equal": JSONValue(greedyEqual), "pass": JSONValue(pass), "tolerance": tolerance.json,
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
        let greedy =
            expected.isEmpty
            ? []
            : try decoder.greedy(
                prompt: ids, maxNewTokens: expected.count, stopIDs: [],
                state: decoder.makeRunState(capacity: capacity), on: context)
        var statistics = NextTokenStatistics()
        for i in 0..<ids.count {
            statistics.add(base: want[(i * V)..<((i + 1) * V)], model: got[(i * V)..<((i + 1) * V)])
        }
        let storages = decoder.weights.pack.tensors.filter { ComponentName.owner(ofTensor: $0.name) == .llm }.map(\.storage)
        let rule = Tolerance.forStorages(storages)
        return LLMCheckResult(
            positions: ids.count, logits: ErrorMetrics(got: got, want: want),
            tolerance: rule == .float ? rule : rule.reportedOnly,
            top1Agreement: statistics.top1Agreement.value, meanKL: statistics.meanKL.value,
            expectedGreedy: expected, greedy: greedy)
    }
}
