import Foundation

/// The logits processors and warpers of transformers' sampling loop, in its order and with its tie
/// rules: repetition penalty and min-length (processors), then temperature → top-k → top-p (warpers),
/// each keeping at least one token. Removed tokens get −∞. All arithmetic is f32 like torch's, except
/// the softmax and cumulative sums, taken in double and rounded (within 1e-7 of torch's f32).
///
/// Cost per call: O(V) for the penalty, temperature and top-k threshold, O(V log V) for top-p's sort.
public enum LogitsWarper {
    /// Every processor and warper `parameters` enables, applied in place to one row of logits.
    /// `sequence` is every id so far (prompt and generated), as transformers' `input_ids`.
    public static func apply(_ scores: inout [Float], sequence: [Int], eosID: Int?, parameters p: GenerationParameters) {
        if p.repetitionPenalty != 1 { repetitionPenalty(&scores, sequence: sequence, penalty: p.repetitionPenalty) }
        if let eosID, sequence.count < p.minLength, scores.indices.contains(eosID) { scores[eosID] = -.infinity }
        if p.temperature != 1 { for i in scores.indices { scores[i] /= p.temperature } }
        if p.topK > 0 { topK(&scores, k: p.topK) }
        if p.topP < 1 { topP(&scores, p: p.topP) }
    }

    /// Each id already in the sequence: a positive score divided by the penalty, a negative one
    /// multiplied (transformers' RepetitionPenaltyLogitsProcessor; each id once).
    public static func repetitionPenalty(_ scores: inout [Float], sequence: [Int], penalty: Float) {
        for id in Set(sequence) where scores.indices.contains(id) {
            scores[id] = scores[id] < 0 ? scores[id] * penalty : scores[id] / penalty
        }
    }

    /// Keeps every score ≥ the k-th largest (ties with it are all kept); k is clamped to [1, V].
    public static func topK(_ scores: inout [Float], k: Int) {
        let k = min(max(k, 1), scores.count)
        guard k < scores.count else { return }
        let threshold = scores.sorted(by: >)[k - 1]
        for i in scores.indices where scores[i] < threshold { scores[i] = -.infinity }
    }

    /// Nucleus: sorted ascending (ties in index order), the tokens whose cumulative probability is
    /// ≤ 1 − p are removed; the most likely token always stays.
    public static func topP(_ scores: inout [Float], p: Double) {
        let order = scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        let probabilities = softmax(order.map { scores[$0] })
        let limit = Float(1 - p)  // torch compares its f32 sums with the Python float cast to f32
        var cumulative = 0.0
        for (rank, index) in order.enumerated() where rank < order.count - 1 {
            cumulative += Double(probabilities[rank])
            if Float(cumulative) <= limit { scores[index] = -.infinity }
        }
    }

    /// softmax over `scores` (−∞ gives 0), f32 results.
    public static func softmax(_ scores: [Float]) -> [Float] {
        guard let top = scores.max(), top > -.infinity else { return scores.map { _ in 0 } }
        let e = scores.map { $0 == -.infinity ? 0 : Foundation.exp(Double($0 - top)) }
        let total = e.reduce(0, +)
        return e.map { Float($0 / total) }
    }
}
