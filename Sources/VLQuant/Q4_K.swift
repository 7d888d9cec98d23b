/// Q4_K reference kernel (GGUF `block_q4_K`): 256 values in 8 sub-blocks of 32 → 144 bytes.
///
/// ```
/// offset 0   d          f16   super-scale for the sub-block scales
/// offset 2   dmin       f16   super-scale for the sub-block mins
/// offset 4   scales[12] eight 6-bit scales sc[j] and eight 6-bit mins m[j]:
///              j < 4:  sc = s[j] & 63,  m = s[j+4] & 63
///              j ≥ 4:  sc = (s[j+4] & 15) | (s[j-4] >> 6) << 4,  m = (s[j+4] >> 4) | (s[j] >> 6) << 4
/// offset 16  qs[128]    4 chunks of 32 bytes; chunk c holds sub-block 2c in the low nibbles and
///                       sub-block 2c+1 in the high nibbles
/// value = (d·sc[j])·q − (dmin·m[j])        (f32, in this order: what the gguf package computes)
/// ```
///
/// Quantization:
/// 1. Per sub-block, ggml's weighted least-squares search (`make_qkx2_quants`): weights
///    w = sqrt(mean x²) + |x|; 21 candidate inverse scales (15 − 1 + 0.1·k)/(max − min); for each,
///    round, solve the 2×2 normal equations for (scale, min), keep the fit of least weighted error.
/// 2. Scales and mins are quantized to 6 bits against d = max scale/63 and dmin = max min/63 (f16).
/// 3. Codes are re-derived from the f16-rounded scales: q = clamp(round((x + dmin·m)/(d·sc)), 0, 15).
/// 4. VLPack's addition: each sub-block tries the neighbouring 6-bit (sc, m) pairs within
///    `refineRadius` and keeps one only if its exact dequantized squared error is strictly smaller.
///    ggml's choice is the first candidate, so no sub-block is ever worse than ggml's.
/// Cost: ≈ 21 + (2r+1)² passes over each 32-value sub-block.
enum Q4_KRef {
    static let refineRadius = 1

    /// ggml's `make_qkx2_quants(32, 15, x, w, L, &min, Laux, -1, 0.1, 20, false)`; returns the scale
    /// and stores the (positive) negated min.
    static func fitScaleMin(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
        _ L: UnsafeMutablePointer<UInt8>, negMin: inout Float
    ) -> Float {
        let nmax: Float = 15
        var lo = x[0], hi = x[0], sumW = w[0], sumX = sumW * x[0]
        for i in 1..<32 {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
            sumW += w[i]
            sumX += w[i] * x[i]
        }
        if lo > 0 { lo = 0 }
        if hi == lo {
            for i in 0..<32 { L[i] = 0 }
            negMin = -lo
            return 0
        }
        var iscale = nmax / (hi - lo)
        var scale = 1 / iscale
        var best: Float = 0
        for i in 0..<32 {
            L[i] = UInt8(RefMath.clamp(RefMath.nearestInt(iscale * (x[i] - lo)), 0, 15))
            let diff = scale * Float(L[i]) + lo - x[i]
            best += w[i] * (diff * diff)
        }
        var aux = [UInt8](repeating: 0, count: 32)
        for step in 0...20 {
            iscale = (-1 + 0.1 * Float(step) + nmax) / (hi - lo)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<32 {
                let l = RefMath.clamp(RefMath.nearestInt(iscale * (x[i] - lo)), 0, 15)
                aux[i] = UInt8(l)
                sumL += w[i] * Float(l)
                sumL2 += w[i] * Float(l) * Float(l)
                sumXL += w[i] * Float(l) * x[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            guard det > 0 else { continue }
            var s = (sumW * sumXL - sumX * sumL) / det
            var m = (sumL2 * sumX - sumL * sumXL) / det
            if m > 0 {
                m = 0
                s = sumXL / sumL2
            }
            var err: Float = 0
            for i in 0..<32 {
                let diff = s * Float(aux[i]) + m - x[i]
                err += w[i] * (diff * diff)
            }
            if err < best {
                for i in 0..<32 { L[i] = aux[i] }
                best = err
                scale = s
                lo = m
            }
        }
        negMin = -lo
        return scale
    }

    /// Codes for one sub-block given the f16 super-scales; leaves `L` alone when d·sc is 0 (every
    /// value then decodes to −dmin·m whatever the codes).
    static func levels(
        _ x: UnsafePointer<Float>, _ d: Float, _ dmin: Float, _ sc: Int, _ m: Int,
        _ L: UnsafeMutablePointer<UInt8>
    ) {
        let ds = d * Float(sc), dm = dmin * Float(m)
        guard ds != 0 else { return }
        for i in 0..<32 { L[i] = UInt8(RefMath.clamp(RefMath.nearestInt((x[i] + dm) / ds), 0, 15)) }
    }

    /// Squared error of the sub-block exactly as dequantized.
    static func subError(
        _ x: UnsafePointer<Float>, _ d: Float, _ dmin: Float, _ sc: Int, _ m: Int,
        _ L: UnsafePointer<UInt8>
    ) -> Double {
        let ds = d * Float(sc), dm = dmin * Float(m)
        var e: Double = 0
        for i in 0..<32 {
            let diff = Double(ds * Float(L[i]) - dm) - Double(x[i])
            e += diff * diff
        }
        return e
    }

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var L = [UInt8](repeating: 0, count: 256)
        var w = [Float](repeating: 0, count: 32)
        var scales = [Float](repeating: 0, count: 8), mins = [Float](repeating: 0, count: 8)
        var maxScale: Float = 0, maxMin: Float = 0
        L.withUnsafeMutableBufferPointer { L in
            w.withUnsafeMutableBufferPointer { w in
                for j in 0..<8 {
                    let xs = x + 32 * j
                    var sumX2: Float = 0
                    for i in 0..<32 { sumX2 += xs[i] * xs[i] }
                    let av = (sumX2 / 32).squareRoot()
                    for i in 0..<32 { w[i] = av + abs(xs[i]) }
                    scales[j] = fitScaleMin(xs, w.baseAddress!, L.baseAddress! + 32 * j, negMin: &mins[j])
                    if scales[j] > maxScale { maxScale = scales[j] }
                    if mins[j] > maxMin { maxMin = mins[j] }
                }
            }
            let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
            let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
            RefMath.storeF16(maxScale / 63, y)
            RefMath.storeF16(maxMin / 63, y + 2)
            let d = RefMath.loadF16(y), dmin = RefMath.loadF16(y + 2)
            var ls = [Int](repeating: 0, count: 8), lm = [Int](repeating: 0, count: 8)
            var cand = [UInt8](repeating: 0, count: 32)
            for j in 0..<8 {
                // C converts nearest_int's int to uint8_t (wrapping) before MIN(63, ·); so do we.
                ls[j] = Int(Swift.min(63, UInt8(truncatingIfNeeded: RefMath.nearestInt(invScale * scales[j]))))
                lm[j] = Int(Swift.min(63, UInt8(truncatingIfNeeded: RefMath.nearestInt(invMin * mins[j]))))
                let xs = x + 32 * j, Ls = L.baseAddress! + 32 * j
                levels(xs, d, dmin, ls[j], lm[j], Ls)
                var best = subError(xs, d, dmin, ls[j], lm[j], Ls)
                let s0 = ls[j], m0 = lm[j]
                for ds in -refineRadius...refineRadius {
                    for dm in -refineRadius...refineRadius {
                        let s = s0 + ds, m = m0 + dm
                        if (ds == 0 && dm == 0) || s < 0 || s > 63 || m < 0 || m > 63 { continue }
                        cand.withUnsafeMutableBufferPointer { c in
                            for i in 0..<32 { c[i] = 0 }
                            levels(xs, d, dmin, s, m, c.baseAddress!)
                            let e = subError(xs, d, dmin, s, m, c.baseAddress!)
                            if e < best {
                                best = e
                                ls[j] = s
                                lm[j] = m
                                for i in 0..<32 { Ls[i] = c[i] }
                            }
                        }
                    }
                }
            }
            for j in 0..<4 {
                y[4 + j] = UInt8(ls[j] | (ls[j + 4] >> 4) << 6)
                y[8 + j] = UInt8(lm[j] | (lm[j + 4] >> 4) << 6)
                y[12 + j] = UInt8((ls[j + 4] & 0xF) | (lm[j + 4] & 0xF) << 4)
            }
            for c in 0..<4 {
                for i in 0..<32 { y[16 + 32 * c + i] = L[64 * c + i] | L[64 * c + 32 + i] << 4 }
            }
        }
    }

    /// The 6-bit scale and min of sub-block `j` (see the layout above).
    static func scaleMin(_ s: UnsafePointer<UInt8>, _ j: Int) -> (sc: Int, m: Int) {
        if j < 4 { return (Int(s[j] & 63), Int(s[j + 4] & 63)) }
        return (Int(s[j + 4] & 0xF) | Int(s[j - 4] >> 6) << 4, Int(s[j + 4] >> 4) | Int(s[j] >> 6) << 4)
    }

    static func dequantize(_ y: UnsafePointer<UInt8>, _ x: UnsafeMutablePointer<Float>) {
        let d = RefMath.loadF16(y), dmin = RefMath.loadF16(y + 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin(y + 4, j)
            let ds = d * Float(sc), dm = dmin * Float(m)
            let q = y + 16 + 32 * (j / 2), shift = UInt8((j & 1) * 4)
            for i in 0..<32 { x[32 * j + i] = ds * Float((q[i] >> shift) & 0xF) - dm }
        }
    }
}
