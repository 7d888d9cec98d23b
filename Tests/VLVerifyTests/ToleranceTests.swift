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
