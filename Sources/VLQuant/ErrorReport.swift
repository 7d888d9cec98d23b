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

    /// Running sums behind a report, so a tensor can be measured tile by tile (and per thread, then
    /// merged) without holding it whole. `report` of one accumulator fed everything equals
    /// `measure` over the concatenation, up to the order of the Double additions.
    public struct Accumulator: Sendable, Equatable {
        public var squaredError = 0.0, maxAbs = 0.0, xx = 0.0, yy = 0.0, xy = 0.0
        public var count = 0

        public init() {}

        /// Adds one pair of equal-length buffers. O(n), one pass.
        public mutating func add(original: UnsafeBufferPointer<Float>, dequantized: UnsafeBufferPointer<Float>) {
            precondition(original.count == dequantized.count, "original and dequantized differ in length")
            // Two independent chains per sum (even/odd elements) halve the add-latency bound.
            var se = 0.0, m = maxAbs, sxx = 0.0, syy = 0.0, sxy = 0.0
            var se1 = 0.0, m1 = 0.0, sxx1 = 0.0, syy1 = 0.0, sxy1 = 0.0
            let pairs = original.count / 2 * 2
            for i in stride(from: 0, to: pairs, by: 2) {
                let x0 = Double(original[i]), y0 = Double(dequantized[i]), d0 = x0 - y0
                let x1 = Double(original[i + 1]), y1 = Double(dequantized[i + 1]), d1 = x1 - y1
                se += d0 * d0
                se1 += d1 * d1
                m = max(m, abs(d0))
                m1 = max(m1, abs(d1))
                sxx += x0 * x0
                sxx1 += x1 * x1
                syy += y0 * y0
                syy1 += y1 * y1
                sxy += x0 * y0
                sxy1 += x1 * y1
            }
            se += se1
            m = max(m, m1)
            sxx += sxx1
            syy += syy1
            sxy += sxy1
            for i in pairs..<original.count {
                let x = Double(original[i]), y = Double(dequantized[i]), d = x - y
                se += d * d
                m = max(m, abs(d))
                sxx += x * x
                syy += y * y
                sxy += x * y
            }
            squaredError += se
            maxAbs = m
            xx += sxx
            yy += syy
            xy += sxy
            count += original.count
        }

        /// Folds in another accumulator (e.g. another thread's rows).
        public mutating func merge(_ other: Accumulator) {
            squaredError += other.squaredError
            maxAbs = max(maxAbs, other.maxAbs)
            xx += other.xx
            yy += other.yy
            xy += other.xy
            count += other.count
        }

        public func report(bitsPerWeight: Double) -> QuantErrorReport {
            let n = Double(max(1, count)), se = squaredError
            let rel = xx > 0 ? (se / xx).squareRoot() : (se > 0 ? Double.infinity : 0)
            let cos: Double = (xx > 0 && yy > 0) ? xy / (xx.squareRoot() * yy.squareRoot()) : (xx == 0 && yy == 0 ? 1 : 0)
            return QuantErrorReport(
                rmse: (se / n).squareRoot(), maxAbsError: maxAbs, relativeL2: rel,
                cosineSimilarity: cos, bitsPerWeight: bitsPerWeight, count: count)
        }
    }

    /// Measures `dequantized` against `original` (same length). O(n), one pass.
    public static func measure(
        original: UnsafeBufferPointer<Float>, dequantized: UnsafeBufferPointer<Float>,
        bitsPerWeight: Double
    ) -> QuantErrorReport {
        var acc = Accumulator()
        acc.add(original: original, dequantized: dequantized)
        return acc.report(bitsPerWeight: bitsPerWeight)
    }

    public static func measure(original: [Float], dequantized: [Float], type: QuantType) -> QuantErrorReport {
        original.withUnsafeBufferPointer { o in
            dequantized.withUnsafeBufferPointer { d in measure(original: o, dequantized: d, bitsPerWeight: type.bitsPerWeight) }
        }
    }
}
