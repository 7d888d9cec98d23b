import Foundation
import Testing
import VLCore
import VLInference
import VLPackFormat
import VLQuantize
import VLTestSamples
import VLTokenizer
@testable import VLVerify

/// The positions llama-perplexity scores, worked out by hand from llama.cpp c392e5094
/// examples/perplexity/perplexity.cpp (`perplexity`: n_chunk = min(--chunks, T / n_ctx), at least
/// 2·n_ctx tokens, first = n_ctx / 2, n_ctx − 1 − first positions a chunk, logit j → token j+1).
@Suite struct PerplexityChunksTests {
    @Test func llamaPerplexityDefaults() throws {
        // T = 1100, n_ctx = 512: n_chunk_max = 2; rows 256...510 of each chunk; 2 · 255 = 510.
        let c = try PerplexityChunks(tokenCount: 1100, ctx: 512)
        #expect(c.count == 2 && c.first == 256 && c.scoredRows == 256..<511)
        #expect(c.positionsPerChunk == 255 && c.positions == 510)
        #expect(c.range(ofChunk: 0) == 0..<512 && c.range(ofChunk: 1) == 512..<1024)
        // The tail past the last full chunk (1024..<1100) is dropped.
        #expect(try PerplexityChunks(tokenCount: 1535, ctx: 512).count == 2)
        #expect(try PerplexityChunks(tokenCount: 1536, ctx: 512).count == 3)
        // wiki.test.raw-sized: 17000 / 512 = 33 chunks, 33 · 255 = 8415 positions.
        #expect(try PerplexityChunks(tokenCount: 17000, ctx: 512).positions == 8415)
    }

    @Test func chunksOptionAndSmallContexts() throws {
        #expect(try PerplexityChunks(tokenCount: 17000, ctx: 512, maxChunks: 5).count == 5)
        #expect(try PerplexityChunks(tokenCount: 1100, ctx: 512, maxChunks: 10).count == 2)
        // ctx 64 on 470 tokens: 7 chunks, rows 32...62, 31 each.
        let small = try PerplexityChunks(tokenCount: 470, ctx: 64)
        #expect(small.count == 7 && small.scoredRows == 32..<63 && small.positions == 217)
        // Odd ctx: first = 7 / 2 = 3, rows 3, 4, 5.
        #expect(try PerplexityChunks(tokenCount: 14, ctx: 7).scoredRows == 3..<6)
        // ctx 3 is the smallest with a scored row (row 1 predicts token 2).
        #expect(try PerplexityChunks(tokenCount: 6, ctx: 3).scoredRows == 1..<2)
    }

    @Test func tooShortTextsAndBadCounts() {
        // llama-perplexity: "you need at least 2*n_ctx tokens".
        #expect(throws: VerifyError.textTooShort(tokens: 1023, needed: 1024, ctx: 512)) { try PerplexityChunks(tokenCount: 1023, ctx: 512) }
        #expect((try? PerplexityChunks(tokenCount: 1024, ctx: 512))?.count == 2)
        #expect(throws: VerifyError.contextTooShort(ctx: 2, minimum: 3)) { try PerplexityChunks(tokenCount: 100, ctx: 2) }
        #expect(throws: VerifyError.chunkCountNotPositive(chunks: 0)) { try PerplexityChunks(tokenCount: 100, ctx: 8, maxChunks: 0) }
    }

    @Test func eachChunkStartsWithBOS() throws {
        let tokens = Array(100..<120)
        let c = try PerplexityChunks(tokenCount: tokens.count, ctx: 8)
        #expect(c.count == 2)
        #expect(c.input(ofChunk: 0, tokens: tokens, bos: 1) == [1] + Array(101..<108))
        #expect(c.input(ofChunk: 1, tokens: tokens, bos: 1) == [1] + Array(109..<116))
    }
}

/// The accumulator against values computed independently with numpy (float64 log-softmax over
/// the same float32 logits; llama.cpp's `mean_and_uncertainty` and `covariance` formulas).
@Suite struct NextTokenStatisticsTests {
    static let base: [[Float]] = [
        [0, 0, 0], [1, 0, -1], [2, 1, 0], [0, 1, 2], [0.5, 0.25, 0], [3, 0, 0], [0, 0, 1], [1, 1, 0], [-1, 0, 1], [0.25, 0.5, 0.75],
        [2, 2, 1], [0, 3, 1],
    ]
    static let model: [[Float]] = [
        [0, 0.5, 0], [1, 0.25, -1], [1.5, 1, 0], [0, 1.5, 2], [0.5, 0.5, 0], [2, 0, 0.5], [0, 0.25, 1], [1, 0.75, 0], [-1, 0.5, 1],
        [0.5, 0.5, 0.75], [2, 1.75, 1], [0.5, 3, 1],
    ]
    static let targets = [1, 0, 2, 2, 0, 0, 2, 1, 2, 1, 0, 1]

    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool { abs(a - b) <= tolerance * max(1, abs(b)) }

    @Test func twelvePositionsAgainstNumpy() {
        var s = NextTokenStatistics()
        for i in 0..<12 { s.add(base: Self.base[i], model: Self.model[i], target: Self.targets[i]) }
        #expect(s.count == 12 && s.scored == 12 && s.sameTop == 11)  // position 0: argmax 0 (first on ties) vs 1
        #expect(Self.close(s.meanKL.value, 0.021004894283901662) && Self.close(s.meanKL.standardError, 0.007588864317874202))
        #expect(Self.close(s.maxKL, 0.09823650394911332))
        #expect(Self.close(s.top1Agreement.value, 0.9166666666666666) && Self.close(s.top1Agreement.standardError, 0.08333333333333336))
        #expect(Self.close(s.perplexity.value, 2.2109654233784317) && Self.close(s.perplexity.standardError, 0.3216265995667226))
        #expect(Self.close(s.perplexityBase.value, 2.1629931234070496) && Self.close(s.perplexityBase.standardError, 0.3856531673972547))
        #expect(Self.close(s.logPerplexityRatio.value, 0.021936295525563865))
        #expect(Self.close(s.logPerplexityRatio.standardError, 0.0493206498035531))
        #expect(Self.close(s.perplexityRatio.value, 1.0221786650416245) && Self.close(s.perplexityRatio.standardError, 0.050414515975181366))
    }

    @Test func onePositionByHand() {
        // p = (½, ½), q = (¼, ¾), next token 1: KL = ½·ln 2 + ½·ln ⅔, NLL(q) = ln(4/3), NLL(p) = ln 2.
        var s = NextTokenStatistics()
        s.add(base: [0, 0], model: [0, Float(log(3.0))], target: 1)
        #expect(abs(s.meanKL.value - 0.14384103622589042) < 1e-7 && s.meanKL.standardError == 0)  // no error under 11 positions
        #expect(s.top1Agreement.value == 0)
        #expect(abs(s.perplexity.value - 4.0 / 3.0) < 1e-6 && abs(s.perplexityBase.value - 2) < 1e-12)
        // Without a target, a position counts for KL and top-1 only.
        s.add(base: [1, 2], model: [1, 2])
        #expect(s.count == 2 && s.scored == 1 && s.sameTop == 1)
    }
}

/// The sample LLM against itself and against its q4_k_m quantization, over llama-perplexity's
/// positions at ctx 64.
@Suite(.serialized) struct QuantizationLossCheckTests {
    static let text = String(
        repeating: "The llama is a domesticated South American camelid, widely used as a meat and pack animal by Andean cultures. ",
        count: 4)

    struct Models {
        let float: LlamaDecoder, quantized: LlamaDecoder, tokenizer: SentencePieceTokenizer
    }

    static func models() throws -> Models {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Samples.convert(to: "\(dir)/sample.vlpack")
        _ = try QuantizationSession(policy: QuantPolicy(recipe: .q4_k_m), threads: 2)
            .quantize(try VLPackFile(path: "\(dir)/sample.vlpack"), output: "\(dir)/q4.vlpack")
        // The mappings stay valid after the files are unlinked.
        let float = try VLPackFile(path: "\(dir)/sample.vlpack"), quantized = try VLPackFile(path: "\(dir)/q4.vlpack")
        let tensor = try #require(float.tensor(named: TensorPrefix.tokenizerTensor))
        let tokenizer = try float.bytes(of: tensor).withUnsafeBytes { try SentencePieceTokenizer(modelBytes: $0) }
        return Models(
            float: try LlamaDecoder(weights: Weights(pack: float)), quantized: try LlamaDecoder(weights: Weights(pack: quantized)), tokenizer: tokenizer)
    }

    @Test func tokensAreBOSAndTheTextWithoutOneTrailingNewline() throws {
        let m = try Self.models()
        let plain = QuantizationLossCheck.tokens(ofText: Array(Self.text.utf8), tokenizer: m.tokenizer)
        #expect(plain == [Int(m.tokenizer.model.bosID)] + m.tokenizer.encode(Self.text).map(Int.init))
        #expect(QuantizationLossCheck.tokens(ofText: Array((Self.text + "\n").utf8), tokenizer: m.tokenizer) == plain)
        #expect(QuantizationLossCheck.tokens(ofText: Array((Self.text + "\n\n").utf8), tokenizer: m.tokenizer) != plain)
    }

    @Test func aModelAgainstItselfLosesNothingAndQ4KMLosesSomething() throws {
        let m = try Self.models()
        let tokens = QuantizationLossCheck.tokens(ofText: Array(Self.text.utf8), tokenizer: m.tokenizer)
        let chunks = try PerplexityChunks(tokenCount: tokens.count, ctx: 64)
        #expect(chunks.count >= 2)
        let context = ExecutionContext(threads: 2), bos = Int(m.tokenizer.model.bosID)

        var seen: [Int] = []
        let same = try QuantizationLossCheck(model: m.float, base: m.float).run(tokens: tokens, bos: bos, chunks: chunks, on: context) { c, _ in
            seen.append(c)
        }
        #expect(seen == Array(0..<chunks.count))
        let s = same.statistics
        #expect(s.count == chunks.positions && s.scored == chunks.positions)
        #expect(s.meanKL.value == 0 && s.maxKL == 0 && s.top1Agreement.value == 1)
        #expect(s.perplexity == s.perplexityBase && s.perplexityRatio.value == 1)

        let lossy = try QuantizationLossCheck(model: m.quantized, base: m.float).run(tokens: tokens, bos: bos, chunks: chunks, on: context)
        let q = lossy.statistics
        #expect(q.count == chunks.positions)
        #expect(q.meanKL.value > 0 && q.meanKL.value < 0.1)
        #expect(q.perplexityBase == s.perplexityBase)  // the float model's figures do not depend on the other model
        #expect(q.perplexity != s.perplexity)
        let json = Dictionary(lossy.json, uniquingKeysWith: { a, _ in a })
        #expect(json["positions"] == JSONValue(chunks.positions) && json["ctx"] == JSONValue(64))
    }
}
