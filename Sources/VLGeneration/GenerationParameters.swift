/// How to pick each next token (spec §5.5). The defaults are the official demo's: sampling with
/// temperature 1.0, top-k 50 (transformers' default, the demo passes none), top-p 0.9, no
/// repetition penalty, at most 300 new tokens.
public struct GenerationParameters: Sendable, Equatable {
    /// Argmax instead of sampling (reproducible answers).
    public var greedy = false
    public var temperature: Float = 1.0
    /// 0 disables the top-k warper.
    public var topK = 50
    /// 1.0 disables the top-p warper. A double, as the Python float transformers compares with.
    public var topP = 0.9
    /// 1.0 disables the penalty.
    public var repetitionPenalty: Float = 1.0
    /// The end-of-sequence id cannot be produced before the sequence holds this many ids (transformers'
    /// `min_length`, counted over the whole sequence).
    public var minLength = 1
    public var maxNewTokens = 300
    /// Seed of the sampling generator: the same seed gives the same tokens.
    public var seed: UInt64 = 0

    public init() {}

    /// transformers' default top-k when a model folder's `generation_config.json` sets none.
    public static let defaultTopK = 50

    /// The top-k the demo samples with: the one `convert` recorded from `generation_config.json`
    /// (the llm config's `top_k`), else transformers' default.
    public static func topK(recorded: Int?) -> Int { recorded ?? defaultTopK }
}
