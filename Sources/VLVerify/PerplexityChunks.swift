/// Which positions of a tokenized text `llama-perplexity` scores, so VLPack's figures on a text are
/// comparable with `llama-perplexity --kl-divergence` on the same text and context.
///
/// Followed from llama.cpp c392e5094 (examples/perplexity/perplexity.cpp, `perplexity` and
/// `kl_divergence`; common/arg.cpp for `-f`):
/// - the whole text is tokenized once with BOS in front (`QuantizationLossCheck.tokens`);
/// - it needs at least 2·ctx tokens ("you need at least 2*n_ctx tokens");
/// - it is cut into ⌊T / ctx⌋ chunks of ctx tokens (the tail is dropped); `--chunks N` keeps the
///   first min(N, ⌊T / ctx⌋);
/// - each chunk runs from an empty KV cache with its first token replaced by BOS;
/// - in each chunk the logits rows j = ⌊ctx/2⌋ … ctx−2 are scored, row j predicting the chunk's
///   token j+1: ctx − 1 − ⌊ctx/2⌋ positions a chunk (the last row predicts past the chunk and is
///   not scored).
///
/// Example: T = 1100, ctx = 512 → 2 chunks (tokens 0..<512 and 512..<1024), rows 256...510 of each,
/// 255 positions a chunk, 510 in all. Cost: none (arithmetic on the counts).
public struct PerplexityChunks: Sendable, Equatable {
    /// Tokens per chunk (`-c`, 512 by default in llama-perplexity).
    public let ctx: Int
    /// Chunks scored.
    public let count: Int
    /// Tokens of the whole text (BOS included).
    public let tokenCount: Int

    /// llama-perplexity's default context.
    public static let defaultContext = 512
    /// The smallest context with a scored position (ctx − 1 − ⌊ctx/2⌋ ≥ 1).
    public static let minimumContext = 3

    /// `maxChunks` nil takes every full chunk (llama.cpp's `--chunks -1`).
    public init(tokenCount: Int, ctx: Int, maxChunks: Int? = nil) throws(VerifyError) {
        guard ctx >= Self.minimumContext else { throw .contextTooShort(ctx: ctx, minimum: Self.minimumContext) }
        if let maxChunks, maxChunks < 1 { throw .chunkCountNotPositive(chunks: maxChunks) }
        guard tokenCount >= 2 * ctx else { throw .textTooShort(tokens: tokenCount, needed: 2 * ctx, ctx: ctx) }
        self.ctx = ctx
        self.tokenCount = tokenCount
        count = min(maxChunks ?? Int.max, tokenCount / ctx)
    }

    /// The first scored logits row of a chunk (⌊ctx/2⌋).
    public var first: Int { ctx / 2 }
    /// The logits rows of a chunk that are scored; row j predicts the chunk's token j+1.
    public var scoredRows: Range<Int> { first..<(ctx - 1) }
    public var positionsPerChunk: Int { scoredRows.count }
    /// Positions scored over all chunks.
    public var positions: Int { count * positionsPerChunk }

    /// The tokens of `tokens` a chunk covers, in the text.
    public func range(ofChunk chunk: Int) -> Range<Int> {
        precondition(chunk >= 0 && chunk < count, "chunk \(chunk) of \(count)")
        return (chunk * ctx)..<((chunk + 1) * ctx)
    }

    /// The ids a chunk feeds the model: its tokens with the first replaced by `bos`.
    public func input(ofChunk chunk: Int, tokens: [Int], bos: Int) -> [Int] {
        precondition(tokens.count == tokenCount, "\(tokens.count) tokens; the chunks were laid out for \(tokenCount)")
        var ids = Array(tokens[range(ofChunk: chunk)])
        ids[0] = bos
        return ids
    }
}
