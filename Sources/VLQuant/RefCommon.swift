import VLCore

/// Helpers shared by the plain-Swift reference kernels. They restate, in Swift, the exact f32
/// operations of ggml's reference quantizers; Swift never fuses `a * b + c`, so each line rounds
/// exactly where the C code rounds.
enum RefMath {
    /// Writes `value` as little-endian f16 (round to nearest even, overflow to infinity).
    @inline(__always)
    static func storeF16(_ value: Float, _ dst: UnsafeMutablePointer<UInt8>) {
        let h = FloatConversion.float16FromFloat(value)
        dst[0] = UInt8(truncatingIfNeeded: h)
        dst[1] = UInt8(truncatingIfNeeded: h >> 8)
    }

    @inline(__always)
    static func loadF16(_ src: UnsafePointer<UInt8>) -> Float {
        FloatConversion.floatFromFloat16(UInt16(src[0]) | UInt16(src[1]) << 8)
    }

    /// ggml's `nearest_int`: adding 1.5·2^23 leaves round-to-nearest-even of `v` in the low
    /// mantissa bits (valid for |v| ≤ 2^22; outside that range the same bits are returned as C does).
    @inline(__always)
    static func nearestInt(_ v: Float) -> Int {
        let bits = Int32(bitPattern: (v + 12_582_912).bitPattern)
        return Int((bits & 0x007F_FFFF) - 0x0040_0000)
    }

    /// `trunc(t)` clamped to a 4-bit code, as `MIN(15, (int)t)` for the t ≥ 0 the quantizers produce.
    /// Non-finite t (only from non-finite input) yields 0 or 15 instead of trapping.
    @inline(__always)
    static func truncNibble(_ t: Float) -> UInt8 {
        t >= 15 ? 15 : (t >= 0 ? UInt8(t) : 0)
    }

    @inline(__always)
    static func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { v < lo ? lo : (v > hi ? hi : v) }
}
