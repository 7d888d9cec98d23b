extension SpecialTokenSplit {
    /// `LlamaTokenizer.decode(ids)` of transformers 4.28.0 (slow, `skip_special_tokens=False`,
    /// `clean_up_tokenization_spaces=False`), which the official `Chat.answer` calls on the generated
    /// ids — and whose text the next turn re-tokenizes, so it must be exact:
    ///
    /// - `_decode`: the ids are cut at added tokens beyond the vocabulary (`<ImageHere>`, …); each run
    ///   between them becomes text by `convert_tokens_to_string`, each added token is its content, and
    ///   the parts are joined with single spaces (`spaces_between_special_tokens`);
    /// - `convert_tokens_to_string`: a special token (`<unk>`, `<s>`, `</s>`) is written as its own text,
    ///   after a space unless it is the run's first or follows another special token, and the pieces
    ///   between them are decoded by SentencePiece.
    ///
    /// Cost: O(total piece length).
    public func decodeAsLlamaTokenizer(_ ids: [Int32], with tokenizer: SentencePieceTokenizer) throws(TokenizerError) -> String {
        let m = tokenizer.model
        let specials = Set([m.unkID, m.bosID, m.eosID].filter { $0 >= 0 && Int($0) < tokenizer.pieceCount })
        func tokensToString(_ run: [Int32]) throws(TokenizerError) -> String {
            var out = "", pieces: [Int32] = [], previousIsSpecial = false
            for (i, id) in run.enumerated() {
                if specials.contains(id) {
                    if !previousIsSpecial && i != 0 { out += " " }
                    out += try tokenizer.decode(pieces) + tokenizer.piece(id)
                    previousIsSpecial = true
                    pieces = []
                } else {
                    pieces.append(id)
                    previousIsSpecial = false
                }
            }
            return out + (try tokenizer.decode(pieces))
        }
        var parts: [String] = [], run: [Int32] = []
        for id in ids {
            guard Int(id) >= tokenizer.pieceCount, let token = tokens.first(where: { $0.id == id }) else {
                run.append(id)
                continue
            }
            if !run.isEmpty { parts.append(try tokensToString(run)) }
            run = []
            parts.append(token.content)
        }
        if !run.isEmpty { parts.append(try tokensToString(run)) }
        return parts.joined(separator: " ")
    }
}
