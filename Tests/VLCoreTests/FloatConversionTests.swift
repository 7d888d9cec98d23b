import Testing
import VLCore
import VLTestSupport

/// The 16-bit conversions are checked against independent references: Swift's own `Float16`
/// (compiler-rt / hardware conversion, round-to-nearest-even) and, for bfloat16, the nearest of the
/// two neighbouring bf16 values computed in `Double`.
@Suite struct FloatConversionTests {
    @Test func everyFloat16RoundTripsExactly() {
        for bits in 0...UInt16.max {
            let viaSwift = Float(Float16(bitPattern: bits))
            let ours = FloatConversion.floatFromFloat16(bits)
            if viaSwift.isNaN {
                #expect(ours.isNaN)
                #expect(FloatConversion.float16FromFloat(ours) & 0x7C00 == 0x7C00)
                #expect(FloatConversion.float16FromFloat(ours) & 0x03FF != 0)
            } else {
                #expect(ours.bitPattern == viaSwift.bitPattern)
                #expect(FloatConversion.float16FromFloat(ours) == bits)
            }
        }
    }

    @Test func everyBFloat16RoundTripsExactly() {
        for bits in 0...UInt16.max {
            let f = FloatConversion.floatFromBFloat16(bits)
            #expect(f.bitPattern == UInt32(bits) << 16)
            if f.isNaN {
                #expect(FloatConversion.bfloat16FromFloat(f) & 0x7F80 == 0x7F80)
                #expect(FloatConversion.bfloat16FromFloat(f) & 0x007F != 0)
            } else {
                #expect(FloatConversion.bfloat16FromFloat(f) == bits)
            }
        }
    }

    /// Number of random f32 bit patterns checked per rounding test.
    static let randomSamples = 2_000_000

    @Test func float16RoundingMatchesSwiftFloat16() {
        var rng = SplitMix64(seed: 0x5EED)
        for _ in 0..<Self.randomSamples {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard !f.isNaN else { continue }
            #expect(FloatConversion.float16FromFloat(f) == Float16(f).bitPattern, "\(f)")
        }
        // Halfway cases: exact ties between two f16 neighbours must go to the even one.
        for bits in stride(from: UInt16(0), to: 0x7BFF, by: 7) {
            let lo = Float(Float16(bitPattern: bits)), hi = Float(Float16(bitPattern: bits + 1))
            let mid = (lo + hi) / 2
            #expect(FloatConversion.float16FromFloat(mid) == Float16(mid).bitPattern)
        }
    }

    @Test func bfloat16RoundingIsNearestEven() {
        var rng = SplitMix64(seed: 0xB16)
        for _ in 0..<Self.randomSamples {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard f.isFinite else { continue }
            let down = UInt16(truncatingIfNeeded: f.bitPattern >> 16)
            let a = Double(FloatConversion.floatFromBFloat16(down))
            // Above the largest finite bf16 the next value is infinity; IEEE rounding treats it as
            // 2^128 (the exponent range continued) when deciding between the two.
            let up = Double(FloatConversion.floatFromBFloat16(down &+ 1))
            let b = up.isInfinite ? (up > 0 ? 0x1p128 : -0x1p128) : up
            let x = Double(f)
            let expected: UInt16
            if abs(x - a) < abs(b - x) {
                expected = down
            } else if abs(x - a) > abs(b - x) {
                expected = down &+ 1
            } else {
                expected = down & 1 == 0 ? down : down &+ 1
            }
            #expect(FloatConversion.bfloat16FromFloat(f) == expected, "\(f)")
        }
    }
}
