import Foundation
import VLInference

/// A mean with its standard error, as `llama-perplexity` reports its figures ("value ± error").
public struct Estimate: Sendable, Equatable {
    public var value: Double
    public var standardError: Double

    public init(value: Double, standardError: Double) {
        self.value = value
        self.standardError = standardError
    }
}

/// Position by position, how a model's next-token distribution differs from a base's (a reference's
/// logits, or the float model's): KL(base ‖ model), whether the two argmaxes agree, and — where the
/// next token is known — both models' negative log-likelihood of it.
///
/// The figures are `llama-perplexity --kl-divergence`'s (llama.cpp c392e5094,
/// examples/perplexity/perplexity.cpp, `kl_divergence` and its `mean_and_uncertainty`/`covariance`):
/// mean KL and its standard error, "Same top p" and its error √(p(1−p)/(n−1)), PPL(Q), PPL(base),
/// ln(PPL(Q)/PPL(base)) with the covariance of the two NLLs. Differences from llama.cpp: the base's
/// log-probabilities are taken exactly in double (llama.cpp stores them quantized to 16 bits and
/// drops base probabilities below e⁻¹⁶), and each NLL is kept in double (llama.cpp rounds it to
/// float). With the engines' own differences, perplexities agree with llama.cpp's to ~1e-4
/// relative and a small KL to a few percent (measured: Formats/REFERENCE.md), not to the bit.
///
/// Invariants: a model compared with itself (equal rows) adds KL exactly 0, a top-1 match and equal
/// NLLs. Cost per `add`: three passes over each row of V logits (max, log-sum-exp, KL), in double,
/// no allocation. Memory: a dozen sums, whatever the number of positions.
public struct NextTokenStatistics: Sendable, Equatable {
    /// Positions added.
    public private(set) var count = 0
    /// Of them, positions whose next token was given (perplexity counts only these).
    public private(set) var scored = 0
    public private(set) var sameTop = 0
    public private(set) var sumKL = 0.0, sumKL2 = 0.0
    public private(set) var sumNLL = 0.0, sumNLL2 = 0.0
    public private(set) var sumNLLBase = 0.0, sumNLLBase2 = 0.0, sumNLLProduct = 0.0
    /// The largest KL of one position.
    public private(set) var maxKL = 0.0

    public init() {}

    /// Adds one position: `base` and `model` are its logits (the same vocabulary, in the same order);
    /// `target`, when known, is the token that followed.
    public mutating func add<Row: RandomAccessCollection>(base: Row, model: Row, target: Int? = nil) where Row.Element == Float, Row.Index == Int {
        precondition(base.count == model.count && !base.isEmpty, "rows of different vocabularies")
        let lseBase = Self.logSumExp(base), lseModel = Self.logSumExp(model)
        var kl = 0.0
        for (b, m) in zip(base, model) {
            let logP = Double(b) - lseBase, logQ = Double(m) - lseModel
            kl += exp(logP) * (logP - logQ)
        }
        count += 1
        sumKL += kl
        sumKL2 += kl * kl
        maxKL = max(maxKL, kl)
        if LlamaDecoder.argmax(base) == LlamaDecoder.argmax(model) { sameTop += 1 }
        guard let target else { return }
        precondition(target >= 0 && target < base.count, "target \(target) outside the vocabulary")
        let nll = lseModel - Double(model[model.startIndex + target])
        let nllBase = lseBase - Double(base[base.startIndex + target])
        scored += 1
        sumNLL += nll
        sumNLL2 += nll * nll
        sumNLLBase += nllBase
        sumNLLBase2 += nllBase * nllBase
        sumNLLProduct += nll * nllBase
    }

    /// KL(softmax(base) ‖ softmax(model)) of one pair of rows, in nats.
    public static func divergence<Row: RandomAccessCollection>(base: Row, model: Row) -> Double where Row.Element == Float, Row.Index == Int {
        var one = NextTokenStatistics()
        one.add(base: base, model: model)
        return one.sumKL
    }

    /// log Σ exp(x), in double, shifted by the maximum.
    static func logSumExp<Row: Collection>(_ x: Row) -> Double where Row.Element == Float {
        let top = Double(x.max() ?? 0)
        return log(x.reduce(0.0) { $0 + exp(Double($1) - top) }) + top
    }

    // MARK: - The figures (llama.cpp's `mean_and_uncertainty`)

    /// Mean of `sum` over `n` and its standard error √((E[x²] − E[x]²)/(n−1)); the error is 0 for
    /// n ≤ 10 or a non-positive variance, as llama.cpp reports it.
    static func mean(_ sum: Double, _ sum2: Double, _ n: Int) -> Estimate {
        guard n > 0 else { return Estimate(value: 0, standardError: 0) }
        let f = sum / Double(n), variance = sum2 / Double(n) - f * f
        return Estimate(value: f, standardError: variance > 0 && n > 10 ? (variance / Double(n - 1)).squareRoot() : 0)
    }

    /// Mean KL(base ‖ model) over the positions, in nats.
    public var meanKL: Estimate { Self.mean(sumKL, sumKL2, count) }

    /// The fraction of positions whose argmaxes agree ("Same top p").
    public var top1Agreement: Estimate {
        guard count > 0 else { return Estimate(value: 0, standardError: 0) }
        let p = Double(sameTop) / Double(count)
        return Estimate(value: p, standardError: count > 1 ? (p * (1 - p) / Double(count - 1)).squareRoot() : 0)
    }

    /// Mean NLL of the model (ln PPL(Q)) and of the base (ln PPL(base)) over the scored positions.
    public var logPerplexity: Estimate { Self.mean(sumNLL, sumNLL2, scored) }
    public var logPerplexityBase: Estimate { Self.mean(sumNLLBase, sumNLLBase2, scored) }

    /// exp(mean NLL) with the error exp(x)·σₓ.
    public var perplexity: Estimate { Self.exponential(logPerplexity) }
    public var perplexityBase: Estimate { Self.exponential(logPerplexityBase) }

    /// ln(PPL(Q)/PPL(base)); its error counts the covariance of the two NLLs (0 under 10 positions).
    public var logPerplexityRatio: Estimate {
        let q = logPerplexity, b = logPerplexityBase
        let n = Double(scored)
        let covariance = scored < 10 ? 0 : (sumNLLProduct / n - (sumNLL / n) * (sumNLLBase / n)) / (n - 1)
        let variance = q.standardError * q.standardError + b.standardError * b.standardError - 2 * covariance
        return Estimate(value: q.value - b.value, standardError: max(0, variance).squareRoot())
    }

    /// PPL(Q)/PPL(base).
    public var perplexityRatio: Estimate { Self.exponential(logPerplexityRatio) }

    static func exponential(_ x: Estimate) -> Estimate {
        let v = exp(x.value)
        return Estimate(value: v, standardError: v * x.standardError)
    }
}
