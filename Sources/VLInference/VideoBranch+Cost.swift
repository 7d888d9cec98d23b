extension VideoBranch {
    /// Floating-point operations of `forward(frames:count:)` on `t` frames: every GEMM (2·M·N·K) and
    /// both attention products (4·Nq·Nk·d per head set); the element-wise ops (< 1 %) are not counted.
    /// At the released sizes: ≈ 533 GFLOP per frame (EVA ViT-g 521, BLIP-2 Q-Former 13); 4270 GFLOP for 8 frames.
    public func flops(frames t: Int) -> Double {
        let e = eva.config
        let (N, W, P) = (Double(e.tokens), Double(e.width), Double(e.grid * e.grid))
        var evaPerFrame = 2 * P * Double(3 * e.patchSize * e.patchSize) * W
        evaPerFrame += Double(e.depth) * (2 * N * (3 * W * W + W * W + 2 * W * Double(e.mlp)) + 4 * N * N * W)
        func qformerFlops(_ c: QFormerConfig, memory: Double) -> Double {
            let (Q, H, I) = (Double(c.queries), Double(c.hidden), Double(c.intermediate))
            var total = 0.0
            for l in 0..<c.layers {
                total += 2 * Q * (4 * H * H + 2 * H * I) + 4 * Q * Q * H
                if c.hasCrossAttention(layer: l) {
                    total += 2 * Q * 2 * H * H + 2 * memory * 2 * Double(c.encoderWidth) * H + 4 * Q * memory * H
                }
            }
            return total
        }
        let video = videoQFormer.config
        return Double(t) * (evaPerFrame + qformerFlops(qformer.config, memory: N))
            + qformerFlops(video, memory: Double(t * qformer.config.queries))
            + 2 * Double(video.queries * video.hidden * llmHidden)
    }
}
