/// The layer transformers 4.28.0's slow `LlamaTokenizer` (`use_fast=False`, as Video-LLaMA loads it)
/// puts over SentencePiece: the text is split on special and added tokens, each token becomes its id,
/// and every other part is encoded by SentencePiece on its own (so each part gets its own dummy
/// prefix). Around a token that is not an `AddedToken` — Video-LLaMA's `<ImageHere>`/`<AudioHere>`,
/// added with `add_tokens(..., special_tokens=True)` — the neighbouring parts lose their adjacent
/// whitespace (Python's `str.lstrip`/`rstrip`); around `<s>`, `</s>`, `<unk>` it is as the folder's
/// tokenizer_config says (recorded by `convert`): an AddedToken strips per its lstrip/rstrip (LLaMA-2:
/// neither), a plain string on both sides.
///
/// The split takes the leftmost match, the longest at that position (transformers' `Trie.split`
/// for tokens of which none is a proper infix of another). Cost: O(n · t) for the split over t tokens
/// plus the SentencePiece cost of the parts.
public struct SpecialTokenSplit: Sendable {
    public struct Token: Sendable, Equatable {
        public let content: String
        public let id: Int32
        /// The text before the token loses its trailing whitespace (AddedToken `lstrip`).
        public let lstrip: Bool
        /// The text after the token loses its leading whitespace (AddedToken `rstrip`).
        public let rstrip: Bool

        public init(content: String, id: Int32, lstrip: Bool, rstrip: Bool) {
            self.content = content
            self.id = id
            self.lstrip = lstrip
            self.rstrip = rstrip
        }
    }

    public let tokens: [Token]

    public init(tokens: [Token]) { self.tokens = tokens.filter { !$0.content.isEmpty } }

    /// How one special token strips its neighbours, as the folder's tokenizer config records it.
    public struct StripFlags: Sendable, Equatable {
        public let lstrip: Bool, rstrip: Bool
        public init(lstrip: Bool, rstrip: Bool) {
            self.lstrip = lstrip
            self.rstrip = rstrip
        }
    }

    /// LLaMA's special tokens (the unknown, BOS and EOS pieces of `tokenizer`) with the strip flags
    /// `special` gives for their content (none where it names none: LLaMA-2's AddedTokens), plus
    /// `added` tokens (content, id), which strip both neighbours.
    public static func llama(
        _ tokenizer: SentencePieceTokenizer, added: [(content: String, id: Int32)], special: [String: StripFlags] = [:]
    ) -> SpecialTokenSplit {
        let m = tokenizer.model
        let specials = [m.unkID, m.bosID, m.eosID].filter { $0 >= 0 && Int($0) < m.pieces.count }
            .map { id in
                let content = m.pieces[Int(id)].text, flags = special[content]
                return Token(content: content, id: id, lstrip: flags?.lstrip ?? false, rstrip: flags?.rstrip ?? false)
            }
        return SpecialTokenSplit(tokens: specials + added.map { Token(content: $0.content, id: $0.id, lstrip: true, rstrip: true) })
    }

    /// The text's parts: a token (its index in `tokens`) or a run of ordinary text, in order.
    enum Part: Equatable {
        case token(Int)
        case text([Unicode.Scalar])
    }

    func split(_ text: String) -> [Part] {
        let scalars = text.unicodeScalars
        let patterns = tokens.map { Array($0.content.unicodeScalars) }
        var parts: [Part] = []
        var runStart = scalars.startIndex, i = scalars.startIndex
        while i < scalars.endIndex {
            var best: (index: Int, length: Int)?
            for (k, p) in patterns.enumerated() where p.count > (best?.length ?? 0) {
                if scalars[i...].starts(with: p) { best = (k, p.count) }
            }
            guard let best else {
                i = scalars.index(after: i)
                continue
            }
            if runStart < i { parts.append(.text(Array(scalars[runStart..<i]))) }
            parts.append(.token(best.index))
            i = scalars.index(i, offsetBy: best.length)
            runStart = i
        }
        if runStart < scalars.endIndex { parts.append(.text(Array(scalars[runStart..<scalars.endIndex]))) }
        return parts
    }

    /// Python's `str.isspace` (Unicode White_Space plus the C0 separators U+001C…U+001F).
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Ids back to text: added-token ids beyond the vocabulary (`<ImageHere>`, `<AudioHere>`) as their
    /// content, the runs between them decoded by SentencePiece (each run as its own piece sequence).
    public func decode(_ ids: [Int32], with tokenizer: SentencePieceTokenizer) throws(TokenizerError) -> String {
        var text = "", run: [Int32] = []
        for id in ids {
            guard Int(id) >= tokenizer.pieceCount, let token = tokens.first(where: { $0.id == id }) else {
                run.append(id)
                continue
            }
            text += try tokenizer.decode(run) + token.content
            run = []
        }
        return text + (try tokenizer.decode(run))
    }

    /// The ids `LlamaTokenizer.encode(text, add_special_tokens=False)` gives.
    public func encode(_ text: String, with tokenizer: SentencePieceTokenizer) -> [Int32] {
        var parts = split(text)
        // As `tokenize` does, in order: a token's rstrip trims the text after it, its lstrip the text before.
        for (k, part) in parts.enumerated() {
            guard case let .token(t) = part else { continue }
            if tokens[t].rstrip, k + 1 < parts.count, case let .text(right) = parts[k + 1] {
                parts[k + 1] = .text(Array(right.drop(while: Self.isPythonSpace)))
            }
            if tokens[t].lstrip, k > 0, case let .text(left) = parts[k - 1] {
                parts[k - 1] = .text(Array(left.reversed().drop(while: Self.isPythonSpace).reversed()))
            }
        }
        var ids: [Int32] = []
        for part in parts {
            switch part {
            case let .token(t): ids.append(tokens[t].id)
            case let .text(run) where !run.isEmpty: ids += tokenizer.encode(String(String.UnicodeScalarView(run)))
            case .text: break
            }
        }
        return ids
    }
}
