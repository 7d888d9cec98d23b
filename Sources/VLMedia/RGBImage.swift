/// An 8-bit RGB picture, rows top to bottom, pixels interleaved (`R G B R G B ...`), no padding.
/// Invariant: `pixels.count == width * height * 3`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// The error between two pictures of the same size, in 8-bit levels over every channel value.
public struct PixelDifference: Sendable, CustomStringConvertible {
    public let meanAbsolute: Double
    public let maxAbsolute: Int
    public let count: Int

    /// Compares `a` and `b` (same size). O(pixels).
    public init(_ a: RGBImage, _ b: RGBImage) {
        self.init([a], [b])
    }

    /// Compares two equally long sequences of same-size pictures, over all of them.
    public init(_ a: [RGBImage], _ b: [RGBImage]) {
        precondition(a.count == b.count, "PixelDifference: \(a.count) vs \(b.count) pictures")
        var sum = 0, maxDiff = 0, count = 0
        for (x, y) in zip(a, b) {
            precondition(x.width == y.width && x.height == y.height, "PixelDifference: sizes differ")
            for i in x.pixels.indices {
                let d = abs(Int(x.pixels[i]) - Int(y.pixels[i]))
                sum += d
                maxDiff = max(maxDiff, d)
            }
            count += x.pixels.count
        }
        meanAbsolute = count == 0 ? 0 : Double(sum) / Double(count)
        maxAbsolute = maxDiff
        self.count = count
    }

    public var description: String {
        "mean \(String(format: "%.4f", meanAbsolute)), max \(maxAbsolute) levels over \(count) values"
    }
}
