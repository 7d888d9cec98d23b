/// What a branch costs, for `vlpack bench`: its flops and the GEMM shape that dominates them.
public protocol BranchCost: Branch {
    /// Floating-point operations of the whole branch on `count` items.
    func flops(count: Int) -> Double
    /// The GEMM shape that dominates the branch, for measuring the rate it can reach.
    func dominantGEMM(count: Int) -> (m: Int, n: Int, k: Int)
}

extension QFormerConfig {
    /// One item's flops over `memory` memory tokens: every layer's GEMMs and attention products.
    func flops(memory: Double) -> Double {
        let (Q, H, I) = (Double(queries), Double(hidden), Double(intermediate))
        var total = 0.0
        for l in 0..<layers {
            total += 2 * Q * (4 * H * H + 2 * H * I) + 4 * Q * Q * H
            if hasCrossAttention(layer: l) {
                total += 2 * Q * 2 * H * H + 2 * memory * 2 * Double(encoderWidth) * H + 4 * Q * memory * H
            }
        }
        return total
    }
}

extension VideoBranch: BranchCost {
    /// Floating-point operations of `forward(frames:count:)` on `t` frames: every GEMM (2·M·N·K) and
    /// both attention products (4·Nq·Nk·d per head set); the element-wise ops (< 1 %) are not counted.
    /// At the released sizes: ≈ 533 GFLOP per frame (EVA ViT-g 521, BLIP-2 Q-Former 13); 4270 GFLOP for 8 frames.
    public func flops(count t: Int) -> Double {
        let e = eva.config
        let (N, W, P) = (Double(e.tokens), Double(e.width), Double(e.grid * e.grid))
        var evaPerFrame = 2 * P * Double(3 * e.patchSize * e.patchSize) * W
        evaPerFrame += Double(e.depth) * (2 * N * (3 * W * W + W * W + 2 * W * Double(e.mlp)) + 4 * N * N * W)
        let video = videoQFormer.config
        return Double(t) * (evaPerFrame + qformer.config.flops(memory: N))
            + video.flops(memory: Double(t * qformer.config.queries))
            + 2 * Double(video.queries * video.hidden * llmHidden)
    }

    /// EVA's fc1: M = T·257, N = 6144, K = 1408 at ViT-g size.
    public func dominantGEMM(count t: Int) -> (m: Int, n: Int, k: Int) { (t * eva.config.tokens, eva.config.mlp, eva.config.width) }
}
