/// Exact conversions between the 16-bit float formats and `Float`.
///
/// - f16/bf16 → f32 is exact (every value, including subnormals, infinities and NaN payloads).
/// - f32 → f16 and f32 → bf16 round to nearest, ties to even; NaN stays NaN (quiet bit set).
public enum FloatConversion {
    @inlinable
    public static func floatFromBFloat16(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inlinable
    public static func bfloat16FromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            // Keep sign and the top payload bits; force the quiet bit so the result is still NaN.
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        // Round to nearest even on the 16 discarded bits.
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    @inlinable
    public static func floatFromFloat16(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F {
            // Inf / NaN: keep the payload.
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: value = mantissa * 2^-24, exactly representable in f32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    @inlinable
    public static func float16FromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let absBits = bits & 0x7FFF_FFFF
        if absBits > 0x7F80_0000 {
            // NaN: keep the top payload bits, force quiet.
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (absBits >> 13) & 0x03FF)
        }
        if absBits >= 0x4780_0000 {
            // |x| >= 65536 (or inf): overflows to infinity. Values in [65520, 65536) are handled below
            // by rounding and also carry into infinity.
            return sign | 0x7C00
        }
        if absBits < 0x3880_0000 {
            // Result is subnormal or zero in f16: scale to units of 2^-24 and round to nearest even.
            let magnitude = Float(bitPattern: absBits) * 0x1p24
            let rounded = magnitude.rounded(.toNearestOrEven)
            return sign | UInt16(rounded)
        }
        // Normal: rebias exponent, round mantissa (13 dropped bits) to nearest even. A carry out of
        // the mantissa correctly bumps the exponent (and becomes inf at the top).
        let lsb = (absBits >> 13) & 1
        let rounded = absBits &+ 0x0FFF &+ lsb
        return sign | UInt16(truncatingIfNeeded: (rounded >> 13) &- (112 << 10))
    }
}
