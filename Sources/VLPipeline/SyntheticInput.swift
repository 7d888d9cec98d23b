/// Fixed pseudo-random inputs for timing runs whose cost does not depend on the values: a 64-bit LCG
/// (Knuth's MMIX constants) from a fixed state.
public enum SyntheticInput {
    /// Normalized input values (CLIP-normalized frames, normalized log-mel clips), uniform on [-2, 2]
    /// in steps of 0.001.
    public static func normalizedValues(count: Int) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            Float(Int(next(&state) >> 40) % 4001 - 2000) / 1000  // [-2, 2]: the range of normalized inputs
        }
    }

    /// Token ids in [3, vocab) (past `<unk>`, `<s>`, `</s>`).
    public static func tokens(count: Int, vocab: Int) -> [Int] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return (0..<count).map { _ in 3 + Int(next(&state) >> 33) % max(1, vocab - 3) }
    }

    private static func next(_ state: inout UInt64) -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
}
