/// Q4_0 reference kernel (GGUF `block_q4_0`).
///
/// Block layout, 32 values → 18 bytes:
/// ```
/// offset 0  d      f16
/// offset 2  qs[16] byte j: low nibble = code of value j, high nibble = code of value j+16
/// value = d · (code − 8)
/// ```
/// Quantization (ggml `quantize_row_q4_0_ref`): m = the signed value of largest magnitude (first
/// one on ties); d = m / −8, so m itself maps to code 0 and the opposite side gets the extra level;
/// id = 1/d; code = min(15, trunc(x · id + 8.5)), all in f32.
enum Q4_0Ref {
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        // Start from x[0] like numpy's argmax (the gguf package): for an all-zero block the sign of
        // x[0] then decides the sign of d's zero.
        var amax = abs(x[0]), m = x[0]
        for j in 1..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            m = x[j]
        }
        let d = m / -8
        let id: Float = d != 0 ? 1 / d : 0
        RefMath.storeF16(d, y)
        for j in 0..<16 {
            let lo = RefMath.truncNibble((x[j] * id + 8.5).rounded(.towardZero))
            let hi = RefMath.truncNibble((x[j + 16] * id + 8.5).rounded(.towardZero))
            y[2 + j] = lo | hi << 4
        }
    }

    static func dequantize(_ y: UnsafePointer<UInt8>, _ x: UnsafeMutablePointer<Float>) {
        let d = RefMath.loadF16(y)
        for j in 0..<16 {
            x[j] = d * Float(Int(y[2 + j] & 0x0F) - 8)
            x[j + 16] = d * Float(Int(y[2 + j] >> 4) - 8)
        }
    }
}
