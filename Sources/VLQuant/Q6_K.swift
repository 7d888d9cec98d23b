/// Q6_K reference kernel (GGUF `block_q6_K`): 256 values in 16 sub-blocks of 16 → 210 bytes.
///
/// ```
/// offset 0    ql[128]    low 4 bits of the codes
/// offset 128  qh[64]     high 2 bits of the codes
/// offset 192  scales[16] int8 sub-block scales
/// offset 208  d          f16 super-scale (last!)
/// For half h (128 values) and i < 32, with ql' = ql + 64h, qh' = qh + 32h:
///   value 128h + i      : code = (ql'[i]    & 15) | ((qh'[i] >> 0) & 3) << 4
///   value 128h + i + 32 : code = (ql'[i+32] & 15) | ((qh'[i] >> 2) & 3) << 4
///   value 128h + i + 64 : code = (ql'[i]    >> 4) | ((qh'[i] >> 4) & 3) << 4
///   value 128h + i + 96 : code = (ql'[i+32] >> 4) | ((qh'[i] >> 6) & 3) << 4
/// value k = (d · scales[k / 16]) · (code − 32)
/// ```
///
/// Quantization:
/// 1. Per sub-block, ggml's `make_qx_quants(16, 32, x, L, rmse_type 1)`: start from the scale that
///    maps the largest-magnitude value to −32, then try 18 nearby inverse scales −(32 + 0.1k)/max
///    and keep the one maximizing (Σw·x·l)²/Σw·l² with w = x² (least weighted error).
/// 2. Sub-block scales are quantized to int8 against d = max scale / −128 (f16).
/// 3. Codes are re-derived from the rounded scales: clamp(round(x / (d·sc)), −32, 31) + 32.
/// 4. VLPack's addition: each sub-block tries the int8 scales within `refineRadius` and keeps one only
///    if its exact dequantized squared error is strictly smaller, so it never loses to ggml.
/// Cost: ≈ 19 + 2r passes over each 16-value sub-block.
enum Q6_KRef {
    static let refineRadius = 2
    /// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is stored as zeros.
    static let groupEpsilon: Float = 1e-15

    static func fitSymmetric(_ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<UInt8>) -> Float {
        let nmax = 32
        var amax: Float = 0, mx: Float = 0
        for i in 0..<16 where abs(x[i]) > amax {
            amax = abs(x[i])
            mx = x[i]
        }
        if amax < groupEpsilon {
            for i in 0..<16 { L[i] = 0 }
            return 0
        }
        func code(_ iscale: Float, _ v: Float) -> Int {
            RefMath.clamp(RefMath.nearestInt(iscale * v), -nmax, nmax - 1)
        }
        var iscale = Float(-nmax) / mx
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<16 {
            let l = code(iscale, x[i])
            L[i] = UInt8(l + nmax)
            let w = x[i] * x[i]
            sumLX += w * x[i] * Float(l)
            sumL2 += w * Float(l) * Float(l)
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / mx
            sumLX = 0
            sumL2 = 0
            for i in 0..<16 {
                let l = code(iscale, x[i])
                let w = x[i] * x[i]
                sumLX += w * x[i] * Float(l)
                sumL2 += w * Float(l) * Float(l)
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                for i in 0..<16 { L[i] = UInt8(code(iscale, x[i]) + nmax) }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return scale
    }

    static func levels(_ x: UnsafePointer<Float>, _ d: Float, _ sc: Int, _ L: UnsafeMutablePointer<UInt8>) {
        let ds = d * Float(sc)
        guard ds != 0 else { return }
        for i in 0..<16 { L[i] = UInt8(RefMath.clamp(RefMath.nearestInt(x[i] / ds), -32, 31) + 32) }
    }

    static func subError(_ x: UnsafePointer<Float>, _ d: Float, _ sc: Int, _ L: UnsafePointer<UInt8>) -> Double {
        let ds = d * Float(sc)
        var e: Double = 0
        for i in 0..<16 {
            let diff = Double(ds * Float(Int(L[i]) - 32)) - Double(x[i])
            e += diff * diff
        }
        return e
    }

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var Lstore = [UInt8](repeating: 0, count: 256)
        var scales = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, maxAbs: Float = 0
        Lstore.withUnsafeMutableBufferPointer { Lbuf in
            let L = Lbuf.baseAddress!
            for j in 0..<16 {
                scales[j] = fitSymmetric(x + 16 * j, L + 16 * j)
                if abs(scales[j]) > maxAbs {
                    maxAbs = abs(scales[j])
                    maxScale = scales[j]
                }
            }
            if maxAbs < groupEpsilon {
                for k in 0..<210 { y[k] = 0 }
                return
            }
            let iscale = -128 / maxScale
            RefMath.storeF16(1 / iscale, y + 208)
            let d = RefMath.loadF16(y + 208)
            var cand = [UInt8](repeating: 0, count: 16)
            for j in 0..<16 {
                var sc = Int(Int8(truncatingIfNeeded: Swift.min(127, RefMath.nearestInt(iscale * scales[j]))))
                let xs = x + 16 * j, Ls = L + 16 * j
                levels(xs, d, sc, Ls)
                var best = subError(xs, d, sc, Ls)
                let s0 = sc
                for delta in -refineRadius...refineRadius {
                    let c = s0 + delta
                    if delta == 0 || c < -128 || c > 127 { continue }
                    cand.withUnsafeMutableBufferPointer { cb in
                        for i in 0..<16 { cb[i] = 32 }
                        levels(xs, d, c, cb.baseAddress!)
                        let e = subError(xs, d, c, cb.baseAddress!)
                        if e < best {
                            best = e
                            sc = c
                            for i in 0..<16 { Ls[i] = cb[i] }
                        }
                    }
                }
                y[192 + j] = UInt8(bitPattern: Int8(sc))
            }
            for h in 0..<2 {
                let Lh = L + 128 * h, ql = y + 64 * h, qh = y + 128 + 32 * h
                for i in 0..<32 {
                    let q1 = Lh[i], q2 = Lh[i + 32], q3 = Lh[i + 64], q4 = Lh[i + 96]
                    ql[i] = (q1 & 0xF) | (q3 & 0xF) << 4
                    ql[i + 32] = (q2 & 0xF) | (q4 & 0xF) << 4
                    qh[i] = (q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6
                }
            }
        }
    }

    static func dequantize(_ y: UnsafePointer<UInt8>, _ x: UnsafeMutablePointer<Float>) {
        let d = RefMath.loadF16(y + 208)
        for h in 0..<2 {
            let ql = y + 64 * h, qh = y + 128 + 32 * h, out = x + 128 * h
            for i in 0..<32 {
                let g = 8 * h + i / 16
                func scale(_ k: Int) -> Float { d * Float(Int8(bitPattern: y[192 + g + k])) }
                out[i] = scale(0) * Float(Int((ql[i] & 0xF) | (qh[i] & 3) << 4) - 32)
                out[i + 32] = scale(2) * Float(Int((ql[i + 32] & 0xF) | ((qh[i] >> 2) & 3) << 4) - 32)
                out[i + 64] = scale(4) * Float(Int((ql[i] >> 4) | ((qh[i] >> 4) & 3) << 4) - 32)
                out[i + 96] = scale(6) * Float(Int((ql[i + 32] >> 4) | ((qh[i] >> 6) & 3) << 4) - 32)
            }
        }
    }
}
