import ArgumentParser
import Foundation
import VLCore
import VLPackFormat
import VLPipeline
import VLTokenizer

/// The tokenizer of PATH — a `.vlpack` (its tokenizer tensor, and the added tokens its header lists)
/// or a `tokenizer.model` (no added tokens), told apart by the `.vlpack` magic. Errors name the file.
func loadTokenizer(_ path: String) throws -> (tokenizer: SentencePieceTokenizer, split: SpecialTokenSplit) {
    let mapping = try MappedFile(path: path)
    return try attributing(to: path) {
        guard mapping.bytes.starts(with: VLPackPreamble.magic) else {
            let tokenizer = try SentencePieceTokenizer(modelBytes: mapping.bytes)
            return (tokenizer, SpecialTokenSplit.llama(tokenizer, added: []))
        }
        let loaded = try LLMTokenizer(pack: VLPackFile(mapping: mapping))
        return (loaded.model, loaded.split)
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode text with the SentencePiece tokenizer of a .vlpack or a tokenizer.model.",
        discussion: """
            Plain SentencePiece, as the sentencepiece library's encode: no BOS or EOS unless --bos, and \
            a literal </s> in the text is characters. --file reads raw bytes (invalid UTF-8 is read as \
            U+FFFD byte by byte, as the library's C++ API does).

            --special splits the text first as transformers 4.28.0's slow LlamaTokenizer does in \
            Video-LLaMA: <s>, </s> and <unk> become their ids, and so do the added tokens a .vlpack lists \
            (<ImageHere>, <AudioHere>), whose neighbouring whitespace is stripped; every other part is \
            encoded on its own. --special --bos equals LlamaTokenizer's encode(text).

            Prints `ids: 1,2,3` (ready for detokenize --ids), then one `ID<TAB>PIECE` line per token;
            --json prints {"ids": [INT], "pieces": [STR]}.

            Examples:
              vlpack tokenize model.vlpack --text "###Human: hi###Assistant:" --bos
              vlpack tokenize tokenizer.model --file prompt.txt --json
            """
    )

    @Argument(help: "A .vlpack file or a SentencePiece tokenizer.model.")
    var path: String

    @Option(help: "The text to encode.")
    var text: String?

    @Option(help: "A file whose bytes are the text to encode.")
    var file: String?

    @Flag(help: "Put the model's BOS id first.")
    var bos = false

    @Flag(help: "Split on special and added tokens first, as transformers 4.28.0's slow LlamaTokenizer.")
    var special = false

    @Flag(help: "Print JSON: {\"ids\": [INT], \"pieces\": [STR]}.")
    var json = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("pass exactly one of --text STR or --file F") }
    }

    func run() throws {
        let (tokenizer, loadedSplit) = try loadTokenizer(path)
        let split = special ? loadedSplit : nil
        var ids: [Int32] = []
        if bos {
            let bosID = tokenizer.model.bosID
            guard bosID >= 0, Int(bosID) < tokenizer.pieceCount else {
                throw SourceError(path: path, underlying: TokenizerError.idOutOfRange(id: Int(bosID), pieces: tokenizer.pieceCount))
            }
            ids.append(bosID)
        }
        if let text {
            ids += split?.encode(text, with: tokenizer) ?? tokenizer.encode(text)
        } else if let file {
            let data = try MappedFile(path: file)
            let bytes = data.bytes.bindMemory(to: UInt8.self)
            // The LlamaTokenizer layer works on text: the bytes are read as UTF-8 (U+FFFD for invalid ones) first.
            ids += split.map { $0.encode(String(decoding: bytes, as: UTF8.self), with: tokenizer) } ?? tokenizer.encode(utf8: bytes)
        }
        let addedPieces = Dictionary(
            loadedSplit.tokens.filter { Int($0.id) >= tokenizer.pieceCount }.map { ($0.id, $0.content) }, uniquingKeysWith: { a, _ in a })
        let pieces = try ids.map { try addedPieces[$0] ?? tokenizer.piece($0) }
        if json {
            let out: JSONValue = ["ids": .array(ids.map { JSONValue(Int($0)) }), "pieces": .array(pieces.map { JSONValue($0) })]
            print(out.serialized())
        } else {
            print("ids: " + ids.map(String.init).joined(separator: ","))
            for (id, piece) in zip(ids, pieces) { print("\(id)\t\(piece)") }
        }
    }
}

struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode token ids with the SentencePiece tokenizer of a .vlpack or a tokenizer.model.",
        discussion: """
            As the sentencepiece library's decode: control pieces (<s>, </s>) are invisible, byte pieces \
            are reassembled into UTF-8, the leading ▁ of the first piece is dropped. Prints the text.

            Example:
              vlpack detokenize model.vlpack --ids 1,15043,3186
            """
    )

    @Argument(help: "A .vlpack file or a SentencePiece tokenizer.model.")
    var path: String

    @Option(help: "Comma-separated token ids.")
    var ids: String

    /// The ids of `--ids`; an empty string is no ids (decoding them gives the empty text).
    func parsedIDs() throws -> [Int32] {
        guard !ids.isEmpty else { return [] }
        return try ids.split(separator: ",", omittingEmptySubsequences: false).map { field in
            guard let id = Int32(field.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--ids: '\(field)' is not an integer id")
            }
            return id
        }
    }

    func validate() throws { _ = try parsedIDs() }

    func run() throws {
        let parsed = try parsedIDs()
        let (tokenizer, split) = try loadTokenizer(path)
        let text = try attributing(to: path) { try split.decode(parsed, with: tokenizer) }
        print(text)
    }
}
