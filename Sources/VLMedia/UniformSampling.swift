import Foundation

/// The official frame selection (spec §4.1, `sampling="uniform"`):
/// `np.arange(0, vlen, vlen / n).astype(int)` with `n = min(maxFrames, vlen)`.
public enum UniformSampling {
    /// numpy's `arange(0, vlen, step).astype(int)` with `step = vlen / n` in float64. numpy's length
    /// is `ceil((stop − start) / step)` and element i is `start + i·step` (start is 0, so the
    /// delta numpy derives from the first two elements is exactly `step`); `astype(int)` truncates.
    /// Floating-point rounding can give n + 1 indices (e.g. vlen 17, n 7), as numpy does.
    /// Precondition: vlen ≥ 1, 1 ≤ n ≤ vlen. O(n).
    public static func indices(vlen: Int, n: Int) -> [Int] {
        precondition(vlen >= 1 && n >= 1 && n <= vlen, "UniformSampling: vlen \(vlen), n \(n)")
        let step = Double(vlen) / Double(n)
        let count = Int((Double(vlen) / step).rounded(.up))
        return (0..<count).map { Int(Double($0) * step) }
    }

    /// The frames the official loader takes from a video of `vlen` frames.
    public static func indices(vlen: Int, maxFrames: Int) -> [Int] {
        indices(vlen: vlen, n: min(maxFrames, vlen))
    }

    /// Python's `round(index / fps, 1)`: the float64 quotient rounded to one decimal, correctly
    /// (round half to even on the exact binary value, which glibc's `%.1f` also does).
    public static func timestamp(index: Int, fps: Double) -> Double {
        let seconds = Double(index) / fps
        guard seconds.isFinite else { return seconds }
        return Double(String(format: "%.1f", seconds)) ?? seconds
    }

    /// The prompt sentence the demo appends for a video (spec §4.1): Python's `str()` of each
    /// timestamp is its shortest round-trip form, as Swift's `description` for these values.
    public static func message(timestamps: [Double]) -> String {
        "The video contains \(timestamps.count) frames sampled at \(timestamps.map { "\($0)" }.joined(separator: ", ")) seconds. "
    }
}
