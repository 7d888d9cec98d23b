import Dispatch
import Foundation
import Testing
import VLCore
import VLTokenizer

/// Encode time on the 1 MB texts (and their prefixes) of `Fixtures/tokenizer/bench.py`, best of 7,
/// with sentencepiece's time on the same text from that script; the ids must hash as sentencepiece's.
/// Not a timed test: only runs with `VLTOKENIZER_BENCH=DIR swift test --filter TokenizerBench`.
@Suite struct TokenizerBench {
    static let dir = ProcessInfo.processInfo.environment["VLTOKENIZER_BENCH"]

    struct Run: Decodable {
        let model: String
        let text: String
        let bytes: Int
        let ids: Int
        let sha256: String
        let sentencepieceSeconds: Double
    }

    struct Results: Decodable { let runs: [Run] }

    @Test(.enabled(if: dir != nil)) func encodeThroughput() throws {
        let dir = try #require(Self.dir)
        let results = try JSONDecoder().decode(Results.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/bench.json")))
        var tokenizers: [String: SentencePieceTokenizer] = [:]
        for run in results.runs {
            if tokenizers[run.model] == nil {
                let data = try Data(contentsOf: URL(fileURLWithPath: "\(TokenizerFixtures.root)/\(run.model)"))
                tokenizers[run.model] = try data.withUnsafeBytes { try SentencePieceTokenizer(modelBytes: $0) }
            }
            let tok = try #require(tokenizers[run.model])
            let text = try String(contentsOfFile: "\(dir)/\(run.text)", encoding: .utf8)
            var best = Double.infinity, ids: [Int32] = []
            for _ in 0..<7 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                ids = tok.encode(text)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            let hash = Array(ids.map(String.init).joined(separator: ",").utf8).withUnsafeBytes { SHA256.hex(of: $0) }
            #expect(ids.count == run.ids && hash == run.sha256, "\(run.model) \(run.text)")
            let line = String(
                format: "bench tokenizer %@ %@: %d B → %d ids, VLPack %.1f ms, sentencepiece %.1f ms (ratio %.2f)",
                run.model, run.text, run.bytes, ids.count, best * 1000, run.sentencepieceSeconds * 1000, best / run.sentencepieceSeconds)
            print(line)
        }
    }
}
