import Foundation
import VLPipeline

/// Prints generated text to stdout as the ids arrive: what the ids decode to so far, holding back an
/// incomplete UTF-8 sequence (a byte-fallback character split over several ids).
struct TokenStreamer {
    let tokenizer: LLMTokenizer
    private var ids: [Int] = []
    private var printed = ""

    init(tokenizer: LLMTokenizer) { self.tokenizer = tokenizer }

    mutating func add(_ id: Int) {
        ids.append(id)
        guard let text = try? tokenizer.decode(ids), !text.hasSuffix("\u{FFFD}"), text.hasPrefix(printed) else { return }
        FileHandle.standardOutput.write(Data(text.dropFirst(printed.count).utf8))
        printed = text
    }

    /// Prints what is left of `text` (the final decode) and a newline.
    mutating func finish(_ text: String) {
        if text.hasPrefix(printed) { FileHandle.standardOutput.write(Data(text.dropFirst(printed.count).utf8)) }
        FileHandle.standardOutput.write(Data("\n".utf8))
        ids = []
        printed = ""
    }
}
