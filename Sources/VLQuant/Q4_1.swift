/// Q4_1 reference kernel (GGUF `block_q4_1`).
///
/// Block layout, 32 values → 20 bytes:
/// ```
/// offset 0  d      f16   step
/// offset 2  m      f16   minimum
/// offset 4  qs[16] byte j: low nibble = code of value j, high nibble = code of value j+16
/// value = d · code + m
/// ```
/// Quantization (ggml `quantize_row_q4_1_ref`): d = (max − min) / 15, id = 1/d (0 when d = 0),
/// code = min(15, trunc((x − min) · id + 0.5)), all in f32 with the unrounded f32 min.
enum Q4_1Ref {
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var lo = x[0], hi = x[0]
        for j in 1..<32 {
            if x[j] < lo { lo = x[j] }
            if x[j] > hi { hi = x[j] }
        }
        let d = (hi - lo) / 15
        let id: Float = d != 0 ? 1 / d : 0
        RefMath.storeF16(d, y)
        RefMath.storeF16(lo, y + 2)
        for j in 0..<16 {
            let a = RefMath.truncNibble(((x[j] - lo) * id + 0.5).rounded(.towardZero))
            let b = RefMath.truncNibble(((x[j + 16] - lo) * id + 0.5).rounded(.towardZero))
            y[4 + j] = a | b << 4
        }
    }

    static func dequantize(_ y: UnsafePointer<UInt8>, _ x: UnsafeMutablePointer<Float>) {
        let d = RefMath.loadF16(y), m = RefMath.loadF16(y + 2)
        for j in 0..<16 {
            x[j] = d * Float(y[4 + j] & 0x0F) + m
            x[j + 16] = d * Float(y[4 + j] >> 4) + m
        }
    }
}
