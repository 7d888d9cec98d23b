extension Resampler {
    /// The plain form of `resample`: pad, then one scalar dot product per output sample, exactly as
    /// the type's comment states it. Kept as the test oracle for the optimized streaming path (they
    /// differ only in summation order). Cost: the same multiply-adds, no SIMD; memory: the padded copy.
    func _referenceResample(_ samples: [Float]) -> [Float] {
        if inputRate == outputRate { return samples }
        let padded = [Float](repeating: 0, count: width) + samples + [Float](repeating: 0, count: width + orig)
        let frames = (padded.count - taps) / orig + 1
        var out = [Float](repeating: 0, count: frames * new)
        for i in 0..<frames {
            for p in 0..<new {
                var sum: Float = 0
                for k in 0..<taps { sum += kernel[p * taps + k] * padded[i * orig + k] }
                out[i * new + p] = sum
            }
        }
        return Array(out.prefix(outputCount(for: samples.count) ?? out.count))
    }
}
