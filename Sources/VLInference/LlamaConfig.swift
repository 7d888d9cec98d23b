import VLCore

/// `llm` config: a LLaMA / Vicuna / LLaMA-2 decoder as Video-LLaMA's copy of transformers 4.28 runs
/// it (spec §5.1).
public struct LlamaConfig: Sendable, Equatable {
    public var hidden: Int, layers: Int, heads: Int, intermediate: Int, vocab: Int
    public var normEps: Float
    /// RoPE base. Video-LLaMA's decoder hard-codes 10000 and ignores `rope_theta` (spec §5.1).
    public var ropeBase: Double
    /// Positions the KV cache holds by default (`max_position`, 2048 for LLaMA-1/Vicuna).
    public var maxPosition: Int
    public var headDim: Int { hidden / heads }

    /// The RoPE base applied regardless of what a config records.
    public static let videoLLaMARopeBase = 10000.0

    public init(_ weights: Weights) throws(InferenceError) {
        let c = try ConfigReader(weights, .llm)
        hidden = try c.int("hidden"); layers = try c.int("layers"); heads = try c.int("heads")
        intermediate = try c.int("intermediate"); vocab = try c.int("vocab")
        normEps = (try? c.float("norm_eps")) ?? 1e-6
        ropeBase = Self.videoLLaMARopeBase
        maxPosition = (try? c.int("max_position")) ?? 2048
        guard hidden % heads == 0 else {
            throw .configNotDivisible(component: c.component.rawValue, key: "hidden", value: hidden, by: "heads", divisor: heads)
        }
        guard headDim % 2 == 0 else {
            throw .configNotDivisible(component: c.component.rawValue, key: "head_dim", value: headDim, by: "2", divisor: 2)
        }
    }
}
