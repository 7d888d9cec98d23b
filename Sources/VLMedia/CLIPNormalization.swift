/// The eval transform of Video-LLaMA's video and image processors (spec §4.1, §4.2): uint8 → float32
/// → `/ 255` → `(x − mean) / std` per channel, with OpenAI CLIP's statistics.
///
/// Every step is one IEEE float32 operation in the same order as torch's `div(255)`, `sub_(mean)`,
/// `div_(std)`, so the result is bit-identical to the reference for the same uint8 input.
public enum CLIPNormalization {
    public static let mean: (Float, Float, Float) = (0.48145466, 0.4578275, 0.40821073)
    public static let std: (Float, Float, Float) = (0.26862954, 0.26130258, 0.27577711)

    /// `[T, 3, H, W]` float32, C order, from T pictures of one size (the layout of `input.frames`).
    /// Cost: O(T·H·W); one allocation.
    public static func tensor(_ frames: [RGBImage]) -> [Float] {
        guard let first = frames.first else { return [] }
        let plane = first.width * first.height
        var out = [Float](repeating: 0, count: frames.count * 3 * plane)
        let means = [mean.0, mean.1, mean.2], stds = [std.0, std.1, std.2]
        out.withUnsafeMutableBufferPointer { dst in
            for (t, frame) in frames.enumerated() {
                precondition(frame.width == first.width && frame.height == first.height, "CLIPNormalization: frame sizes differ")
                frame.pixels.withUnsafeBufferPointer { src in
                    for c in 0..<3 {
                        let base = (t * 3 + c) * plane
                        let m = means[c], s = stds[c]
                        for p in 0..<plane {
                            dst[base + p] = (Float(src[p * 3 + c]) / 255 - m) / s
                        }
                    }
                }
            }
        }
        return out
    }
}
