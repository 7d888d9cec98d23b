/// Fixed pseudo-random CLIP-normalized frame values, for timing runs whose cost does not depend on
/// the values: a 64-bit LCG (Knuth's MMIX constants), uniform on [-2, 2] in steps of 0.001.
public enum SyntheticFrames {
    public static func values(count: Int) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 4001 - 2000) / 1000  // [-2, 2]: the CLIP-normalized range
        }
    }
}
