/// Pillow's `Image.resize(size, Image.BICUBIC)` for 8-bit RGB (what torchvision's `Resize` calls on
/// a PIL image, spec §4.2), reimplemented from its documented algorithm (`libImaging/Resample.c`):
///
/// - Separable convolution, horizontal pass first, then vertical, each producing **8-bit** output
///   (rounded and clipped), so the intermediate is quantized as in Pillow.
/// - Bicubic kernel with a = −0.5, support 2. When downscaling, the kernel is stretched by the
///   scale factor (support × scale, argument ÷ scale) — this is Pillow's antialiasing.
/// - Sample centres at `(x + 0.5)·scale`; taps from `Int(centre − support + 0.5)` to
///   `Int(centre + support + 0.5)` clamped to the image; weights normalized to sum 1, then turned
///   into fixed point with 22 fractional bits (rounded away from zero) and accumulated in integers
///   starting from ½, the result shifted down and clamped to 0…255.
///
/// Cost: O(W'·H·kw + W'·H'·kh) multiply-adds, one intermediate picture.
public enum PILResize {
    static let precisionBits = 32 - 8 - 2

    static func bicubic(_ x: Double) -> Double {
        let a = -0.5
        let x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Per output sample: first input index, tap count, and fixed-point weights (`ksize` per sample).
    struct Coefficients {
        var bounds: [(start: Int, count: Int)]
        var weights: [Int32]
        var ksize: Int
    }

    static func coefficients(inSize: Int, outSize: Int) -> Coefficients {
        let support0 = 2.0
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = support0 * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var bounds: [(Int, Int)] = []
        bounds.reserveCapacity(outSize)
        var weights = [Int32](repeating: 0, count: outSize * ksize)
        var k = [Double](repeating: 0, count: ksize)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let ss = 1.0 / filterScale
            let xmin = max(Int(center - support + 0.5), 0)  // C (int) cast: truncation
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var ww = 0.0
            for x in 0..<xmax {
                let w = bicubic((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w
                ww += w
            }
            for x in 0..<max(xmax, 0) {
                let v = ww != 0 ? k[x] / ww : k[x]
                let scaled = v * Double(1 << precisionBits)
                weights[xx * ksize + x] = Int32(v < 0 ? (-0.5 + scaled).rounded(.towardZero) : (0.5 + scaled).rounded(.towardZero))
            }
            bounds.append((xmin, max(xmax, 0)))
        }
        return Coefficients(bounds: bounds, weights: weights, ksize: ksize)
    }

    @inline(__always)
    static func clip8(_ v: Int) -> UInt8 {
        let s = v >> precisionBits
        return s < 0 ? 0 : s > 255 ? 255 : UInt8(s)
    }

    /// `image` resized to `width`×`height` as Pillow's BICUBIC resize does. Same size → a copy.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "PILResize: target \(width)x\(height)")
        let horiz = coefficients(inSize: image.width, outSize: width)
        let vert = coefficients(inSize: image.height, outSize: height)
        let needHorizontal = width != image.width
        let needVertical = height != image.height
        if !needHorizontal && !needVertical { return image }

        // Rows of the source the vertical pass will read.
        let firstRow = vert.bounds[0].start
        let lastRow = vert.bounds[height - 1].start + vert.bounds[height - 1].count
        var temp = image
        var rowOffset = 0
        if needHorizontal {
            let rows = needVertical ? lastRow - firstRow : image.height
            rowOffset = needVertical ? firstRow : 0
            temp = horizontal(image, coefficients: horiz, width: width, firstRow: rowOffset, rows: rows)
        }
        guard needVertical else { return temp }
        return vertical(temp, coefficients: vert, height: height, rowShift: needHorizontal ? rowOffset : 0)
    }

    private static func horizontal(_ src: RGBImage, coefficients c: Coefficients, width: Int, firstRow: Int, rows: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * rows * 3)
        let half = 1 << (precisionBits - 1)
        src.pixels.withUnsafeBufferPointer { s in
            c.weights.withUnsafeBufferPointer { w in
                for y in 0..<rows {
                    let row = (y + firstRow) * src.width * 3
                    for x in 0..<width {
                        let (start, count) = c.bounds[x]
                        var r = half, g = half, b = half
                        for t in 0..<count {
                            let k = Int(w[x * c.ksize + t]), p = row + (start + t) * 3
                            r += Int(s[p]) * k; g += Int(s[p + 1]) * k; b += Int(s[p + 2]) * k
                        }
                        let o = (y * width + x) * 3
                        out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b)
                    }
                }
            }
        }
        return RGBImage(width: width, height: rows, pixels: out)
    }

    private static func vertical(_ src: RGBImage, coefficients c: Coefficients, height: Int, rowShift: Int) -> RGBImage {
        let width = src.width
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let half = 1 << (precisionBits - 1)
        src.pixels.withUnsafeBufferPointer { s in
            c.weights.withUnsafeBufferPointer { w in
                for y in 0..<height {
                    let (start, count) = c.bounds[y]
                    let first = start - rowShift
                    for x in 0..<width {
                        var r = half, g = half, b = half
                        for t in 0..<count {
                            let k = Int(w[y * c.ksize + t]), p = ((first + t) * width + x) * 3
                            r += Int(s[p]) * k; g += Int(s[p + 1]) * k; b += Int(s[p + 2]) * k
                        }
                        let o = (y * width + x) * 3
                        out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b)
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
