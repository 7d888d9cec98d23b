/// `Resampler` applied to a signal that arrives in pieces (one decoded frame at a time), so a long
/// file never needs its whole native-rate waveform in memory. The output equals the one-shot result
/// bit for bit: output frame i only needs padded input `[i·orig, i·orig + taps)`, and each frame is
/// computed, with the same dot product over the phase's `support` taps, as soon as that much input
/// has arrived.
///
/// Memory: the output plus at most `taps + pushed-chunk` pending input samples (compacted as frames
/// complete). Not thread-safe; one per channel.
public struct StreamingResampler: Sendable {
    public let resampler: Resampler
    /// Pending padded input; `start` is the first sample of the next output frame.
    private var pending: [Float]
    private var start = 0
    private var inputCount = 0
    private(set) var output: [Float] = []

    public init(_ resampler: Resampler) {
        self.resampler = resampler
        pending = [Float](repeating: 0, count: resampler.width)  // the conv's left padding
    }

    /// The input samples pushed so far.
    public var count: Int { inputCount }

    /// Reserves room for the output of `count` input samples (a sizing hint; wrong values only cost
    /// reallocations).
    public mutating func reserveOutput(forInput count: Int) {
        if let n = resampler.outputCount(for: count), n > output.capacity, n < 1 << 34 { output.reserveCapacity(n) }
    }

    /// Appends input samples and computes every output frame they complete.
    public mutating func push(_ samples: UnsafeBufferPointer<Float>) {
        inputCount += samples.count
        if resampler.inputRate == resampler.outputRate {
            output.append(contentsOf: samples)
            return
        }
        pending.append(contentsOf: samples)
        drain()
    }

    /// Ends the input: right padding, the last frames, and the cut to `ceil(new·N/orig)`. Hands the
    /// output over (the stream keeps no reference to it, so it is not copied later).
    public mutating func finish() -> [Float] {
        if resampler.inputRate != resampler.outputRate {
            pending.append(contentsOf: repeatElement(0, count: resampler.width + resampler.orig))
            drain()
            let keep = resampler.outputCount(for: inputCount) ?? output.count
            if output.count > keep { output.removeLast(output.count - keep) }
        }
        pending = []
        defer { output = [] }
        return output
    }

    private mutating func drain() {
        let taps = resampler.taps, orig = resampler.orig, new = resampler.new, support = resampler.support
        let available = pending.count - start
        guard available >= taps else { return }
        let frames = (available - taps) / orig + 1
        let first = output.count
        output.append(contentsOf: repeatElement(0, count: frames * new))
        resampler.kernel.withUnsafeBufferPointer { kernel in
            pending.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    guard let k = kernel.baseAddress, let x = input.baseAddress, let o = out.baseAddress else { return }
                    for i in 0..<frames {
                        let window = x + start + i * orig
                        for p in 0..<new {
                            let s = support[p]
                            o[first + i * new + p] = dot(k + p * taps + s.lowerBound, window + s.lowerBound, s.count)
                        }
                    }
                }
            }
        }
        start += frames * orig
        if start >= 1 << 16 {  // compact: drop consumed input
            pending.removeFirst(start)
            start = 0
        }
    }
}

/// `Σ a[i]·b[i]` with four 8-wide accumulators (their order differs from torch's conv1d, so results
/// agree to float32 rounding, not bitwise).
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 32 <= n {
        s0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        s1 += ra.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
        s2 += ra.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD8<Float>.self)
        s3 += ra.loadUnaligned(fromByteOffset: (i + 24) * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: (i + 24) * 4, as: SIMD8<Float>.self)
        i += 32
    }
    while i + 8 <= n {
        s0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var sum = ((s0 + s1) + (s2 + s3)).sum()
    while i < n {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}
