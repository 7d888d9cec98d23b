import Foundation
import VLCore
import VLPackFormat
import VLQuant

/// What a tensor is, as far as quantization cares; decided from its canonical name and shape
/// alone (Formats/QUANT_POLICY.md §2). Raw values appear in the recorded reasons.
public enum TensorRole: String, Sendable, CaseIterable {
    case notFloat = "not F32/F16/BF16"
    case alreadyQuantized = "already block-quantized"
    case norm
    case bias
    case positionEmbedding = "position embedding"
    case queryTokens = "query tokens"
    case clsToken = "cls token"
    case patchEmbedding = "patch embedding"
    case vector = "scalar or 1-D"
    case otherTensor = "not a matrix"
    case tokenEmbedding = "token embeddings"
    case outputHead = "output head"
    case linear

    /// Roles that stay in their stored form unless an override says otherwise.
    public var keptByDefault: Bool {
        switch self {
        case .tokenEmbedding, .outputHead, .linear: false
        default: true
        }
    }

    /// Classifies one tensor. O(name length).
    public static func classify(name: String, storage: StorageType, shape: [Int]) -> TensorRole {
        guard case let .plain(dtype) = storage else { return .alreadyQuantized }
        guard [.f32, .f16, .bf16].contains(dtype) else { return .notFloat }
        let parts = name.split(separator: ".")
        let last = parts.last.map(String.init) ?? ""
        let owner = parts.count >= 2 ? String(parts[parts.count - 2]) : ""
        if owner.contains("norm") || owner == "ln" || owner.hasPrefix("ln_") || last.contains("norm") { return .norm }
        if last.hasSuffix("bias") || last.hasPrefix("bias_") { return .bias }
        if name.contains("pos_embed") || name.contains("frame_pos") || name.contains("position_embeddings") || owner == "pos" {
            return .positionEmbedding
        }
        if name.contains("query_tokens") { return .queryTokens }
        if name.contains("cls_token") { return .clsToken }
        if name.contains("patch_embed") { return .patchEmbedding }
        if shape.count < 2 { return .vector }
        if shape.count > 2 { return .otherTensor }
        if name == TensorPrefix.llmEmbedTokens["weight"] { return .tokenEmbedding }
        if name == TensorPrefix.llmHead["weight"] { return .outputHead }
        return .linear
    }
}

/// A named quantization recipe: the type each role gets (Formats/QUANT_POLICY.md §3).
public enum QuantRecipe: String, Sendable, CaseIterable {
    case q8_0, q4_0, q4_k_m

    /// The type of ordinary linear weights.
    public var base: QuantType {
        switch self {
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        case .q4_k_m: .q4_k
        }
    }

    /// The LLM's output head and token embeddings: Q6_K in the 4-bit recipes (as llama.cpp does for
    /// `output.weight`; VLPack also protects the embeddings), else the base type.
    public var head: QuantType { self == .q8_0 ? .q8_0 : .q6_k }

    /// The type of the LLM's sensitive layers (`attn.v`, `mlp.down` of the layers `usesMoreBits`
    /// picks), when the recipe protects them.
    public var sensitive: QuantType? { self == .q4_k_m ? .q6_k : nil }

    /// The type of every matrix of the modality branches (encoder towers, Q-Formers, projections):
    /// Q8_0 in every recipe, as llama.cpp users keep multimodal projectors at F16/Q8_0. Each branch
    /// is a chain of 40+ layers whose 4-bit errors compound and are not averaged out downstream
    /// (full-size measurement in Formats/QUANT_POLICY.md §3); the branches are ~10 % of a file.
    public var branch: QuantType { .q8_0 }

    /// llama.cpp's `use_more_bits(i, n)`: the first and last eighth of the layers and every third
    /// one between them.
    public static func usesMoreBits(layer i: Int, of n: Int) -> Bool {
        i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
    }
}

/// `--tensor-type REGEX=TYPE`: tensors whose name matches REGEX (searched, not anchored) take TYPE.
public struct TypeOverride: Sendable, Equatable {
    public let pattern: String
    public let type: QuantType

    public init(pattern: String, type: QuantType) {
        self.pattern = pattern
        self.type = type
    }

    /// Parses `REGEX=TYPE` (split at the last `=`; TYPE any case: q8_0, q4_0, q4_1, q4_k, q6_k).
    public init?(argument: String) {
        guard let eq = argument.lastIndex(of: "=") else { return nil }
        let name = argument[argument.index(after: eq)...].uppercased()
        guard let type = QuantType(rawValue: name), eq > argument.startIndex,
            (try? Regex(String(argument[..<eq]))) != nil
        else { return nil }
        self.init(pattern: String(argument[..<eq]), type: type)
    }
}

/// The type chosen for one tensor, and why.
public struct QuantDecision: Sendable, Equatable {
    public let name: String
    public let role: TensorRole
    /// The type the recipe or an override asked for; `nil` when the tensor is kept by role/--keep.
    public let requested: QuantType?
    /// The type actually used after the block-size fallback; `nil` when the tensor keeps its storage.
    public let chosen: QuantType?
    public let reason: String
    /// The storage written.
    public let storage: StorageType

    /// The `quant` member recorded in the `.vlpack` table (Formats/QUANT_POLICY.md §5); error
    /// figures are added when the tensor was quantized and measured.
    public func quantJSON(error: QuantErrorReport? = nil) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("type", JSONValue(storage.name)),
            ("requested", JSONValue(requested?.rawValue ?? "keep")),
            ("reason", JSONValue(reason)),
        ]
        if let e = error {
            members += [
                ("rmse", Self.rounded(e.rmse)), ("max_abs", Self.rounded(e.maxAbsError)), ("rel_l2", Self.rounded(e.relativeL2)),
                ("cosine", Self.rounded(e.cosineSimilarity)), ("bpw", Self.rounded(e.bitsPerWeight)),
            ]
        }
        return .object(members)
    }

    /// Six significant digits: at most `maxMetricLength` characters in JSON, so the header can
    /// reserve room for the figures before they are measured.
    static func rounded(_ x: Double) -> JSONValue {
        guard x.isFinite, let r = Double(String(format: "%.6g", x)) else { return .null }
        return JSONValue(r)
    }

    /// Header bytes the error figures add to one tensor's `quant` member, at most.
    static let metricsSlack = #","rmse":-1.23456e-300,"max_abs":-1.23456e-300,"rel_l2":-1.23456e-300,"cosine":-1.23456e-300,"bpw":-1.23456e-300"#.utf8.count
}

/// A recipe plus the user's overrides, applied to a whole tensor list.
public struct QuantPolicy: Sendable {
    public var recipe: QuantRecipe
    /// `--tensor-type`, in command-line order: the last match wins.
    public var overrides: [TypeOverride]
    /// `--keep`: matching tensors keep their storage, whatever else matches.
    public var keep: [String]

    public init(recipe: QuantRecipe, overrides: [TypeOverride] = [], keep: [String] = []) {
        self.recipe = recipe
        self.overrides = overrides
        self.keep = keep
    }

    /// Decides every tensor. Needs the whole list to count the LLM's layers. O(tensors × patterns).
    public func decide(_ tensors: [(name: String, storage: StorageType, shape: [Int])]) throws -> [QuantDecision] {
        let overrideRegexes = try overrides.map { try Regex($0.pattern) }
        let keepRegexes = try keep.map { try Regex($0) }
        let layers = Set(tensors.compactMap { Self.llmLayer(of: $0.name) }).count
        return tensors.map { t in
            let role = TensorRole.classify(name: t.name, storage: t.storage, shape: t.shape)
            if let i = keepRegexes.lastIndex(where: { t.name.contains($0) }) {
                return QuantDecision(
                    name: t.name, role: role, requested: nil, chosen: nil,
                    reason: "override: --keep \(keep[i]) (kept)", storage: t.storage)
            }
            let quantizable = role != .notFloat && role != .alreadyQuantized && t.shape.count >= 2
            var requested: QuantType?
            var why: String
            if quantizable, let i = overrideRegexes.lastIndex(where: { t.name.contains($0) }) {
                requested = overrides[i].type
                why = "override: \(overrides[i].pattern)=\(overrides[i].type.rawValue)"
            } else if role.keptByDefault {
                return QuantDecision(name: t.name, role: role, requested: nil, chosen: nil, reason: "role: \(role.rawValue) (kept)", storage: t.storage)
            } else {
                (requested, why) = recipeType(role: role, name: t.name, layers: layers)
            }
            let row = t.shape.last ?? 0
            guard let want = requested, let chosen = QuantType.best(for: want, rowLength: row) else {
                return QuantDecision(
                    name: t.name, role: role, requested: requested, chosen: nil,
                    reason: "\(why); fallback: row \(row) not a multiple of 32 (kept)", storage: t.storage)
            }
            if chosen != want {
                why += "; fallback: row \(row) not a multiple of \(want.elementsPerBlock) → \(chosen.rawValue)"
            }
            return QuantDecision(
                name: t.name, role: role, requested: want, chosen: chosen, reason: why,
                storage: .blocks(chosen))
        }
    }

    /// The recipe's type for a role that is quantized by default.
    func recipeType(role: TensorRole, name: String, layers: Int) -> (QuantType, String) {
        switch role {
        case .tokenEmbedding, .outputHead:
            return (recipe.head, "role: \(role.rawValue) → \(recipe.head.rawValue)")
        default:
            if let owner = ComponentName.owner(ofTensor: name), owner != .llm {
                return (recipe.branch, "modality branch (\(owner.rawValue)) → \(recipe.branch.rawValue)")
            }
            if let sensitive = recipe.sensitive, let layer = Self.llmLayer(of: name),
                name.hasSuffix(".attn.v.weight") || name.hasSuffix(".mlp.down.weight"),
                QuantRecipe.usesMoreBits(layer: layer, of: layers)
            {
                return (sensitive, "sensitive: layer \(layer) of \(layers) → \(sensitive.rawValue)")
            }
            return (recipe.base, "role: linear → \(recipe.base.rawValue)")
        }
    }

    /// `i` for `llm.layers.{i}.…`.
    public static func llmLayer(of name: String) -> Int? {
        guard TensorPrefix.llmLayers.contains(name) else { return nil }
        return name.dropFirst(TensorPrefix.llmLayers.dotted.count).split(separator: ".").first.flatMap { Int($0) }
    }

    /// The component a canonical name belongs to (for per-component summaries).
    public static func component(of name: String) -> String {
        ComponentName.owner(ofTensor: name)?.rawValue ?? "other"
    }
}
