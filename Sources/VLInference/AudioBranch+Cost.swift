extension AudioBranch: BranchCost {
    /// Floating-point operations of the whole branch on `s` clips: every GEMM (2·M·N·K) and both
    /// attention products; element-wise ops (< 1 %) not counted. At the released sizes ≈ 41 GFLOP
    /// per clip (the audio tower), 328 GFLOP for 8 clips.
    public func flops(count s: Int) -> Double {
        let e = encoder.config
        let (N, W, P) = (Double(e.tokens), Double(e.width), Double(e.gridHeight * e.gridWidth))
        var perClip = 2 * P * Double(e.kernel * e.kernel) * W
        perClip += Double(e.depth) * (2 * N * (3 * W * W + W * W + 2 * W * Double(e.mlp)) + 4 * N * (N + 1) * W)
        perClip += 2 * W * Double(e.outDim)
        let q = qformer.config
        return Double(s) * perClip + q.flops(memory: Double(s)) + 2 * Double(q.queries * q.hidden * llmHidden)
    }

    /// The audio tower's fc1: M = S·229, N = 3072, K = 768 at the released sizes.
    public func dominantGEMM(count s: Int) -> (m: Int, n: Int, k: Int) {
        (s * encoder.config.tokens, encoder.config.mlp, encoder.config.width)
    }
}
