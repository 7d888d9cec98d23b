import Foundation
import Testing
import VLCore
import VLGeneration

/// transformers 4.28.0's processors and warpers (Fixtures/generation/warpers.json, written by
/// generate_warpers.py) against `LogitsWarper`: identical kept sets, probabilities within 1e-6.
@Suite struct WarperTests {
    /// The bound for probabilities after the warper chain.
    static let probabilityTolerance: Float = 1e-6

    struct Case: Sendable, CustomTestStringConvertible {
        let index: Int, kind: String
        let logits: [Float], sequence: [Int], kept: [Int], probabilities: [Float]
        let parameters: GenerationParameters
        var testDescription: String { "#\(index) \(kind) V=\(logits.count)" }
    }

    static let eosID = 2
    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/generation/warpers.json")
        guard let data = try? Data(contentsOf: url),
            let json = try? data.withUnsafeBytes({ try JSONValue.parse($0) })
        else { return [] }
        return (json[key: "cases"]?.array ?? []).enumerated().map { i, c in
            var p = GenerationParameters()
            let params = c[key: "params"]
            p.temperature = Float(params?[key: "temperature"]?.double ?? 1)
            p.topK = params?[key: "top_k"]?.int ?? 0
            p.topP = params?[key: "top_p"]?.double ?? 1
            p.repetitionPenalty = Float(params?[key: "repetition_penalty"]?.double ?? 1)
            p.minLength = params?[key: "min_length"]?.int ?? 0
            func floats(_ key: String) -> [Float] { (c[key: key]?.array ?? []).map { Float($0.double ?? .nan) } }
            func ints(_ key: String) -> [Int] { (c[key: key]?.array ?? []).compactMap(\.int) }
            return Case(
                index: i, kind: c[key: "kind"]?.string ?? "", logits: floats("logits"), sequence: ints("sequence"),
                kept: ints("kept"), probabilities: floats("probabilities"), parameters: p)
        }
    }()

    @Test func casesArePresent() {
        #expect(Self.cases.count >= 100)
    }

    /// The kept set must be identical, with one exception that transformers leaves to chance: when
    /// several tokens tie exactly at the top-p cut, torch's unstable sort decides which of them go
    /// (the count is fixed, the identities are not). VLPack keeps the lower ids; such a case must
    /// still agree on every token outside that tie and on the multiset of probabilities.
    @Test(arguments: cases)
    func chainMatchesTransformers(_ c: Case) {
        var scores = c.logits
        LogitsWarper.apply(&scores, sequence: c.sequence, eosID: Self.eosID, parameters: c.parameters)
        let kept = scores.indices.filter { scores[$0] != -.infinity }
        let probabilities = LogitsWarper.softmax(scores)
        if kept == c.kept {
            let worst = zip(probabilities, c.probabilities).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= Self.probabilityTolerance, "max |Δp| \(worst)")
            return
        }
        #expect(c.parameters.topP < 1, "kept sets differ without a top-p cut")
        let cut = kept.map { scores[$0] }.min() ?? 0
        let differing = Set(kept).symmetricDifference(c.kept)
        #expect(kept.count == c.kept.count)
        for i in differing {
            let value = scores[i] != -.infinity ? scores[i] : c.logits[i] / c.parameters.temperature
            #expect(value == cut, "token \(i) differs but does not tie at the cut")
        }
        let worst = zip(probabilities.sorted(), c.probabilities.sorted()).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= Self.probabilityTolerance, "max |Δp| \(worst) (as multisets)")
    }

    /// A seeded sampler repeats itself and follows the probabilities it is given.
    @Test func samplerIsSeededAndFollowsTheDistribution() {
        let probabilities: [Float] = [0.5, 0, 0.25, 0.25]
        var a = Sampler(seed: 7), b = Sampler(seed: 7), c = Sampler(seed: 8)
        let drawsA = (0..<4000).map { _ in a.draw(probabilities) }
        let drawsB = (0..<4000).map { _ in b.draw(probabilities) }
        let drawsC = (0..<4000).map { _ in c.draw(probabilities) }
        #expect(drawsA == drawsB)
        #expect(drawsA != drawsC)
        let counts = (0..<4).map { i in drawsA.filter { $0 == i }.count }
        #expect(counts[1] == 0)
        // Binomial standard deviation at n = 4000, p = 0.5 is ~32: allow 5 σ.
        #expect(abs(counts[0] - 2000) < 160 && abs(counts[2] - 1000) < 140 && abs(counts[3] - 1000) < 140, "\(counts)")
    }
}
