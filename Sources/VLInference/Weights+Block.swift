extension Weights {
    /// The MLP half of a pre-norm transformer block, as EVA ViT-g and ImageBind's trunks share it:
    /// `x += fc2(GELU(fc1(LN(x))))` with the block's `norm2.{weight,bias}` and `mlp.fc{1,2}.{weight,bias}`.
    ///
    /// x [M, W] is updated in place; h [M, W] and hidden [M, mlp] are overwritten; `scratch` holds one
    /// weight matrix. Cost: 4·M·W·mlp flops (the two GEMMs) + O(M·mlp) element-wise.
    func preNormMLP(
        block b: String, x: UnsafeMutablePointer<Float>, rows M: Int, width W: Int, hidden mlp: Int, eps: Float,
        h: UnsafeMutablePointer<Float>, hiddenBuffer tmp: UnsafeMutablePointer<Float>, scratch: FloatBuffer,
        on context: ExecutionContext
    ) throws(InferenceError) {
        // h = LN2(x)                                              [M, W]
        Ops.layerNorm(
            x, rows: M, dim: W, weight: try vector("\(b).norm2.weight", shape: [W]),
            bias: try vector("\(b).norm2.bias", shape: [W]), eps: eps, into: h, on: context)
        // tmp = GELU(h · W1ᵀ + b1)                                [M, MLP]
        Ops.linear(
            h, rows: M, in: W, weight: try matrix("\(b).mlp.fc1.weight", rows: mlp, cols: W, into: scratch, on: context),
            bias: try vector("\(b).mlp.fc1.bias", shape: [mlp]), out: mlp, into: tmp, on: context)
        Ops.gelu(tmp, count: M * mlp, on: context)
        // x += tmp · W2ᵀ + b2                                     [M, W]  (through h: tmp is the input)
        Ops.linear(
            tmp, rows: M, in: mlp, weight: try matrix("\(b).mlp.fc2.weight", rows: W, cols: mlp, into: scratch, on: context),
            bias: try vector("\(b).mlp.fc2.bias", shape: [W]), out: W, into: h, on: context)
        Ops.add(x, h, count: M * W, on: context)
    }
}
