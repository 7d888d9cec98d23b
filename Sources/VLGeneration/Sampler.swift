/// Draws token ids from a probability vector with a seeded generator, so a run with the same seed
/// repeats exactly (not PyTorch's stream: sampled tokens are not expected to equal torch's).
public struct Sampler: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// SplitMix64: a full-period 64-bit generator, 53 random bits per draw.
    private mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    /// An index drawn with the given probabilities (which sum to 1 within rounding); the last index
    /// with non-zero probability absorbs the rounding. O(V).
    public mutating func draw(_ probabilities: [Float]) -> Int {
        let u = unit()
        var cumulative = 0.0
        var last = 0
        for (i, p) in probabilities.enumerated() where p > 0 {
            cumulative += Double(p)
            last = i
            if u < cumulative { return i }
        }
        return last
    }
}
