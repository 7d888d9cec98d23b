/// SplitMix64 (a public-domain algorithm): the fixed-seed generator every test suite uses, so each
/// "random" input or byte position is reproducible from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Floats drawn from the generator for test inputs.
extension SplitMix64 {
    /// Uniform in [0, 1) on a 2⁻²⁴ grid (every value exact as a Float).
    public mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// `n` values uniform in [−scale, scale).
    public mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in (2 * unit() - 1) * scale } }
}
