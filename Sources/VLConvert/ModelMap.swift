import Foundation
import VLCheckpoint
import VLCore

/// A model map (`Formats/maps/<family>.json`): how one released checkpoint family becomes canonical
/// `.vlpack` tensors. Rules are data so a new checkpoint variant needs a map change, not code.
/// See `Formats/MAPS.md` for the file format.
public struct ModelMap: Sendable {
    public let family: ComponentFamily
    /// The component this family provides (`eva_vit`, `blip2_qformer`, `llm`, ...).
    public let component: String
    public let description: String
    /// Key prefix every mapped source name starts with (`model.` for trainer checkpoints).
    public let root: String
    /// Default hyperparameters (the released model's), in file order.
    public let defaults: [(key: String, value: JSONValue)]
    /// Config values computed from others (`tokens`, `head_dim`).
    public let derived: [(key: String, expression: String)]
    /// Config values read off a tensor's shape when not set explicitly (`llm_hidden` from llama_proj).
    public let fromShapes: [(key: String, tensor: String, dim: Int)]
    public let tensors: [TensorRule]
    public let skips: [SkipRule]

    /// One source pattern → one canonical tensor.
    public struct TensorRule: Sendable {
        public let source: NamePattern
        public let target: String
        /// Each dimension is an integer or an expression over the config.
        public let shape: [JSONValue]
        /// Placeholder → expression bounding it (`i < layers`).
        public let index: [String: String]
        /// Placeholder → expression giving its stride (`i % cross_attention_freq == 0`).
        public let step: [String: String]
        /// Dimension along which Meta model-parallel shards are concatenated (nil: replicated).
        public let merge: Int?
        public let transform: Transform?
    }

    public struct SkipRule: Sendable {
        public let source: NamePattern
        public let reason: String
        /// Placeholder → expression it must reach (`i >= depth`): skips only what lies beyond the config.
        public let beyond: [String: String]
        /// Skipped by default but kept under `extra.*` with `--keep-unused`.
        public let unused: Bool
    }

    public enum Transform: String, Sendable {
        /// Meta's interleaved rotary pairs → HF rotate-half rows (spec §5.2).
        case rotaryMetaToHF = "rotary_meta_to_hf"
    }
}

/// A source-name pattern: `{name}` captures one dotted component (`{i}` digits only), a trailing
/// `**` matches the rest of the name, everything else is literal. Matching is a single left-to-right
/// scan: placeholders stop at the next `.`, so no backtracking is needed.
public struct NamePattern: Sendable {
    public let text: String
    private let pieces: [Piece]

    private enum Piece: Sendable {
        case literal(String)
        case variable(String)
        case rest
    }

    init(_ text: String) throws {
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while !rest.isEmpty {
            if rest.hasPrefix("**") {
                guard rest.count == 2 else { throw ConvertError.invalidMap(map: text, reason: "'**' must end the pattern") }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                pieces.append(.rest)
                rest = rest.dropFirst(2)
            } else if rest.first == "{", let close = rest.firstIndex(of: "}") {
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                pieces.append(.variable(String(rest[rest.index(after: rest.startIndex)..<close])))
                rest = rest[rest.index(after: close)...]
            } else {
                literal.append(rest.removeFirst())
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.text = text
        self.pieces = pieces
    }

    /// The captured placeholders when `name` matches the whole pattern.
    func match(_ name: String) -> [String: String]? {
        var captures: [String: String] = [:]
        var rest = Substring(name)
        for piece in pieces {
            switch piece {
            case let .literal(l):
                guard rest.hasPrefix(l) else { return nil }
                rest = rest.dropFirst(l.count)
            case let .variable(v):
                let digitsOnly = v == "i"
                let value = rest.prefix { c in digitsOnly ? c.isASCII && c.isNumber : (c.isLetter || c.isNumber || c == "_") }
                guard !value.isEmpty else { return nil }
                captures[v] = String(value)
                rest = rest.dropFirst(value.count)
            case .rest:
                rest = ""
            }
        }
        return rest.isEmpty ? captures : nil
    }

    /// Fills the placeholders of `template` with `captures`.
    static func fill(_ template: String, _ captures: [String: String]) -> String {
        var out = template
        for (k, v) in captures { out = out.replacingOccurrences(of: "{\(k)}", with: v) }
        return out
    }
}
