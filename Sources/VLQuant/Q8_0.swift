/// Q8_0 reference kernel (GGUF `block_q8_0`).
///
/// Block layout, 32 values → 34 bytes:
/// ```
/// offset 0  d      f16   scale
/// offset 2  qs[32] int8  value j = d · qs[j]
/// ```
/// Quantization (ggml `quantize_row_q8_0_ref`): d = max|x| / 127 in f32; id = 1/d (0 when d = 0);
/// qs[j] = round-half-away-from-zero(x[j] · id). It multiplies by the f32 reciprocal rather than
/// dividing by d, and uses the f32 d (not its f16 rounding); both choices change about one block in
/// 20,000, so they are copied exactly.
enum Q8_0Ref {
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        RefMath.storeF16(d, y)
        for j in 0..<32 {
            let r = (x[j] * id).rounded(.toNearestOrAwayFromZero)
            // |x·id| ≤ 127 for finite input; the clamp only guards non-finite data against a trap.
            let q = r.isNaN ? 0 : Int8(Swift.max(-128, Swift.min(127, r)))
            y[2 + j] = UInt8(bitPattern: q)
        }
    }

    static func dequantize(_ y: UnsafePointer<UInt8>, _ x: UnsafeMutablePointer<Float>) {
        let d = RefMath.loadF16(y)
        for j in 0..<32 { x[j] = Float(Int8(bitPattern: y[2 + j])) * d }
    }
}
