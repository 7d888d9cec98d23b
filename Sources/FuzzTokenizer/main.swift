import Foundation
import VLTokenizer

/// The committed tokenizers, read once: the sample LLaMA one (512 pieces) and the 32000-piece model
/// (both identity normalization, dummy prefix, byte fallback), and the options model (extra
/// whitespace removed, user-defined pieces, no byte fallback: only run, no round-trip property).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures").path

func load(_ path: String) -> SentencePieceTokenizer {
    let data = try! Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/\(path)"))
    return try! data.withUnsafeBytes { try SentencePieceTokenizer(modelBytes: $0) }
}

let roundTripping = [load("samples/llama-hf/tokenizer.model"), load("tokenizer/bpe32k.model")]
let options = load("tokenizer/options.model")

/// libFuzzer entry point. Any bytes must encode and decode without a crash or hang. For valid UTF-8
/// under the byte-fallback models, sentencepiece guarantees decode(encode(x)) == x up to its
/// identity normalization: spaces are escaped to U+2581 and U+2581 decodes back to a space, so the
/// expected text is x with every U+2581 replaced by a space.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = try! options.decode(options.encode(utf8: bytes))
    let valid = String(validating: bytes, as: UTF8.self)
    for tokenizer in roundTripping {
        let ids = tokenizer.encode(utf8: bytes)
        let decoded = try! tokenizer.decode(ids)
        if let text = valid {
            // Compared as scalars: String's == is canonical equivalence, and a replacement by Character
            // would miss a U+2581 that a combining mark joins into one grapheme (the first finding).
            let expected = text.unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 }
            precondition(Array(decoded.unicodeScalars) == expected, "round trip: \(Array(text.unicodeScalars)) → \(ids) → \(Array(decoded.unicodeScalars))")
            precondition(tokenizer.encode(text) == ids, "String and byte encodes differ")
        }
    }
    return 0
}
