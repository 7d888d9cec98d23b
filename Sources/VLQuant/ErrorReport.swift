/// How far dequantized values are from the originals. All sums in Double.
public struct QuantErrorReport: Sendable, Equatable {
    /// sqrt(mean((x − y)²)): the usual RMSE (not ggml's test-quantize-fns sqrt(Σd²)/n).
    public var rmse: Double
    public var maxAbsError: Double
    /// ‖x − y‖ / ‖x‖ (0 when both are zero, infinity when only x is).
    public var relativeL2: Double
    /// x·y / (‖x‖‖y‖); 1 when both are all zero, 0 when exactly one is.
    public var cosineSimilarity: Double
    /// Storage cost of the type used (scales included).
    public var bitsPerWeight: Double
    public var count: Int

    /// Measures `dequantized` against `original` (same length). O(n), one pass.
    public static func measure(original: UnsafeBufferPointer<Float>, dequantized: UnsafeBufferPointer<Float>,
                               bitsPerWeight: Double) -> QuantErrorReport {
        precondition(original.count == dequantized.count, "original and dequantized differ in length")
        var se = 0.0, maxAbs = 0.0, xx = 0.0, yy = 0.0, xy = 0.0
        for i in 0..<original.count {
            let x = Double(original[i]), y = Double(dequantized[i]), d = x - y
            se += d * d
            maxAbs = max(maxAbs, abs(d))
            xx += x * x
            yy += y * y
            xy += x * y
        }
        let n = Double(max(1, original.count))
        let rel = xx > 0 ? (se / xx).squareRoot() : (se > 0 ? Double.infinity : 0)
        let cos: Double = (xx > 0 && yy > 0) ? xy / (xx.squareRoot() * yy.squareRoot()) : (xx == 0 && yy == 0 ? 1 : 0)
        return QuantErrorReport(rmse: (se / n).squareRoot(), maxAbsError: maxAbs, relativeL2: rel,
                                cosineSimilarity: cos, bitsPerWeight: bitsPerWeight, count: original.count)
    }

    public static func measure(original: [Float], dequantized: [Float], type: QuantType) -> QuantErrorReport {
        original.withUnsafeBufferPointer { o in
            dequantized.withUnsafeBufferPointer { d in measure(original: o, dequantized: d, bitsPerWeight: type.bitsPerWeight) }
        }
    }
}
