import Testing
import Foundation
@testable import VLVerify

/// The error metrics and the rule each storage selects (Formats/REFERENCE.md).
@Suite struct ToleranceTests {
    @Test func errorMetricsAndTolerances() {
        let m = ErrorMetrics(got: [1, 2, 3.001], want: [1, 2, 3])
        #expect(abs(m.maxAbs - 0.001) < 1e-6)
        #expect(abs(m.relL2 - 0.001 / 14.0.squareRoot()) < 1e-6)
        #expect(m.cosine > 0.99999 && m.cosine <= 1.0000001)
        #expect(Tolerance.forStorages([.plain(.f32), .plain(.f16), .plain(.bf16)]) == .float)
        #expect(Tolerance.forStorages([.plain(.f16), .blocks(.q8_0)]) == .q8)
        #expect(Tolerance.forStorages([.blocks(.q8_0), .blocks(.q6_k), .blocks(.q4_k)]) == .q4)
        #expect(Tolerance.float.accepts(m) == false)
        #expect(Tolerance.q8.accepts(m))
    }

    /// The LLM's rules follow the branch rules' storage choice; a quantized result passes or fails on
    /// its mean KL alone, a float one on rel_l2 and greedy ids.
    @Test func llmRulesJudgeByMeanKL() {
        #expect(Tolerance.q8.forLLM == .llmQ8 && Tolerance.q4.forLLM == .llmQ4KM && Tolerance.float.forLLM == .float)
        func result(_ rule: Tolerance, kl: Double, mismatched: [Int]) -> LLMCheckResult {
            LLMCheckResult(
                positions: 4, logits: ErrorMetrics(got: [1, 2], want: [1, 2.5]), tolerance: rule, top1Agreement: 1, meanKL: kl,
                expectedGreedy: [3, 4], greedy: [3, 5], excusedSteps: [], mismatchedSteps: mismatched)
        }
        #expect(result(.llmQ4KM, kl: 0.06, mismatched: [1]).pass)
        #expect(!result(.llmQ4KM, kl: 0.07, mismatched: []).pass)
        #expect(result(.llmQ8, kl: 1e-3, mismatched: []).pass && !result(.llmQ8, kl: 2e-3, mismatched: []).pass)
        #expect(!result(.float, kl: 0, mismatched: []).pass)  // rel_l2 0.2
    }

    /// The top-2 margin rule: a differing greedy step is excused only when the reference's margin is
    /// below 10 × the step's max_abs (values worked out by hand).
    @Test func greedyMarginRule() {
        let reference: [Float] = [0, 5.00, 4.99, 1]  // margin 0.01
        #expect(LLMReferenceCheck.within(margin: reference[...], of: [0, 4.999, 5.0, 1]))  // max_abs 0.01 → 0.1 > 0.01
        #expect(!LLMReferenceCheck.within(margin: reference[...], of: [0, 5.0, 4.9905, 1]))  // max_abs 0.0005 → 0.005 < 0.01
        let clear: [Float] = [0, 6, 4, 1]  // margin 2
        #expect(!LLMReferenceCheck.within(margin: clear[...], of: [0, 5.95, 4.05, 1]))  // max_abs 0.05 → 0.5 < 2
    }
}

/// The divergence the LLM check and `verify --against` share: KL(p ‖ q) of the two softmax distributions.
@Suite struct DivergenceTests {
    @Test func klOfKnownDistributions() {
        // p = softmax(0, 0) = (½, ½), q = softmax(0, ln 3) = (¼, ¾): ½·ln 2 + ½·ln(⅔).
        let want = 0.5 * log(2.0) + 0.5 * log(2.0 / 3.0)
        let got = NextTokenStatistics.divergence(base: [0, 0], model: [0, Float(log(3.0))])
        #expect(abs(got - want) < 1e-7)
        #expect(NextTokenStatistics.divergence(base: [1, 2, 3], model: [1, 2, 3]) == 0)
        // Shifting all logits changes nothing.
        #expect(abs(NextTokenStatistics.divergence(base: [1, 2, 3], model: [11, 12, 13])) < 1e-12)
    }
}
