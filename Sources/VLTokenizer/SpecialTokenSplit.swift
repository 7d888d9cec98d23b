/// The layer transformers 4.28.0's slow `LlamaTokenizer` (`use_fast=False`, as Video-LLaMA loads it)
/// puts over SentencePiece: the text is split on special and added tokens, each token becomes its id,
/// and every other part is encoded by SentencePiece on its own (so each part gets its own dummy
/// prefix). Around a token that is not an `AddedToken` — Video-LLaMA's `<ImageHere>`/`<AudioHere>`,
/// added with `add_tokens(..., special_tokens=True)` — the neighbouring parts lose their adjacent
/// whitespace (Python's `str.lstrip`/`rstrip`); `<s>`, `</s>`, `<unk>` are AddedTokens without
/// lstrip/rstrip in a LLaMA folder's tokenizer_config, so nothing is stripped around them.
///
/// The split takes the leftmost match, the longest at that position (transformers' `Trie.split`
/// for tokens of which none is a proper infix of another). Cost: O(n · t) for the split over t tokens
/// plus the SentencePiece cost of the parts.
public struct SpecialTokenSplit: Sendable {
    public struct Token: Sendable, Equatable {
        public let content: String
        public let id: Int32
        /// True for a plain-string token: whitespace next to it is stripped from its neighbours.
        public let stripsNeighbours: Bool

        public init(content: String, id: Int32, stripsNeighbours: Bool) {
            self.content = content
            self.id = id
            self.stripsNeighbours = stripsNeighbours
        }
    }

    public let tokens: [Token]

    public init(tokens: [Token]) { self.tokens = tokens.filter { !$0.content.isEmpty } }

    /// LLaMA's special tokens (the unknown, BOS and EOS pieces of `tokenizer`, kept as they are)
    /// plus `added` tokens (content, id), which strip their neighbours.
    public static func llama(_ tokenizer: SentencePieceTokenizer, added: [(content: String, id: Int32)]) -> SpecialTokenSplit {
        let m = tokenizer.model
        let special = [m.unkID, m.bosID, m.eosID].filter { $0 >= 0 && Int($0) < m.pieces.count }
            .map { Token(content: m.pieces[Int($0)].text, id: $0, stripsNeighbours: false) }
        return SpecialTokenSplit(tokens: special + added.map { Token(content: $0.content, id: $0.id, stripsNeighbours: true) })
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

    /// The ids `LlamaTokenizer.encode(text, add_special_tokens=False)` gives.
    public func encode(_ text: String, with tokenizer: SentencePieceTokenizer) -> [Int32] {
        var parts = split(text)
        // As `tokenize` does, in order: a stripping token trims the text on both sides of it.
        for (k, part) in parts.enumerated() {
            guard case let .token(t) = part, tokens[t].stripsNeighbours else { continue }
            if k + 1 < parts.count, case let .text(right) = parts[k + 1] {
                parts[k + 1] = .text(Array(right.drop(while: Self.isPythonSpace)))
            }
            if k > 0, case let .text(left) = parts[k - 1] {
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
