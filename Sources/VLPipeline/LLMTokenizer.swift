import VLCore
import VLPackFormat
import VLTokenizer

/// The LLM's tokenizer as the official code loads it: the SentencePiece model the `.vlpack` carries
/// under `tokenizer.model`, with transformers 4.28's `LlamaTokenizer` layer over it (the added
/// tokens and the special tokens' strip flags that `convert` recorded).
public struct LLMTokenizer: Sendable {
    public let model: SentencePieceTokenizer
    public let split: SpecialTokenSplit

    public init(model: SentencePieceTokenizer, split: SpecialTokenSplit) {
        self.model = model
        self.split = split
    }

    /// Reads it from `pack`. Cost: parsing the tokenizer model (~0.5 MB for LLaMA), once.
    public init(pack: VLPackFile) throws {
        guard let tensor = pack.tensor(named: TensorPrefix.tokenizerTensor) else {
            throw TokenizerError.missingTokenizerTensor(name: TensorPrefix.tokenizerTensor)
        }
        let model = try pack.bytes(of: tensor).withUnsafeBytes { try SentencePieceTokenizer(modelBytes: $0) }
        let added = (pack.parts.tokenizer[key: "added_tokens"]?.array ?? []).compactMap { t -> (content: String, id: Int32)? in
            guard let content = t[key: "content"]?.string, let id = t[key: "id"]?.int, let id32 = Int32(exactly: id) else { return nil }
            return (content, id32)
        }
        var special: [String: SpecialTokenSplit.StripFlags] = [:]
        for t in pack.parts.tokenizer[key: "special_tokens"]?.array ?? [] {
            guard let content = t[key: "content"]?.string else { continue }
            special[content] = SpecialTokenSplit.StripFlags(lstrip: t[key: "lstrip"]?.bool ?? false, rstrip: t[key: "rstrip"]?.bool ?? false)
        }
        self.init(model: model, split: SpecialTokenSplit.llama(model, added: added, special: special))
    }

    public var bosID: Int { Int(model.model.bosID) }
    public var eosID: Int { Int(model.model.eosID) }

    /// `LlamaTokenizer(text, add_special_tokens: bos).input_ids`.
    public func encode(_ text: String, bos: Bool) -> [Int] { (bos ? [bosID] : []) + split.encode(text, with: model).map(Int.init) }

    /// transformers 4.28's `LlamaTokenizer.decode` (what the official `Chat.answer` calls).
    public func decode(_ ids: [Int]) throws -> String { try split.decodeAsLlamaTokenizer(ids.map(Int32.init), with: model) }
}
