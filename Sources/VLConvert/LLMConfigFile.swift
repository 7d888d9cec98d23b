import VLCore

/// The LLM hyperparameters beside a checkpoint, read from a parsed file: HF `config.json` or Meta
/// `params.json`. Takes the document rather than a path so the rules can be checked (and fuzzed)
/// without files; `origin` names the file in errors.
public enum LLMConfigFile {
    /// HF `config.json` → canonical LLM config keys.
    public static func hf(_ c: JSONValue, origin path: String) throws -> [(key: String, value: JSONValue)] {
        if let kv = c[key: "num_key_value_heads"]?.int, let h = c[key: "num_attention_heads"]?.int, kv != h {
            throw ConvertError.invalidConfig(
                component: ComponentName.llm.rawValue, reason: "\(path): grouped-query attention (\(kv) kv heads) is not a Video-LLaMA decoder")
        }
        let mapping = [
            ("hidden_size", "hidden"), ("num_hidden_layers", "layers"), ("num_attention_heads", "heads"),
            ("intermediate_size", "intermediate"), ("vocab_size", "vocab"), ("rms_norm_eps", "norm_eps"),
            ("max_position_embeddings", "max_position"),
        ]
        return mapping.compactMap { from, to in c[key: from].map { (to, $0) } }
    }

    /// HF `generation_config.json` → the sampling default the official demo inherits from it: its
    /// `top_k` (transformers uses it when `generate` is not given one; the demo gives only
    /// temperature and top-p). Recorded as `top_k`; absent when the file sets none.
    public static func generation(_ g: JSONValue, origin path: String) throws -> [(key: String, value: JSONValue)] {
        guard let value = g[key: "top_k"], value != .null else { return [] }
        guard let k = value.int, k >= 0 else {
            throw ConvertError.invalidConfig(component: ComponentName.llm.rawValue, reason: "\(path): top_k must be a non-negative integer")
        }
        return [("top_k", JSONValue(k))]
    }

    /// `tokenizer_config.json` / `special_tokens_map.json` → the special tokens (bos, eos, unk, pad) with
    /// the whitespace transformers 4.28's slow tokenizer strips next to them: an `AddedToken` object
    /// gives its own `lstrip`/`rstrip`; a plain string strips both sides (its default). Tokens set to
    /// null are left out.
    public static func specialTokens(_ c: JSONValue, origin path: String) throws -> [JSONValue] {
        try ["bos_token", "eos_token", "unk_token", "pad_token"].compactMap { key -> JSONValue? in
            guard let value = c[key: key], value != .null else { return nil }
            if let content = value.string { return ["content": JSONValue(content), "lstrip": true, "rstrip": true] }
            guard let content = value[key: "content"]?.string else {
                throw ConvertError.invalidConfig(
                    component: ComponentName.llm.rawValue, reason: "\(path): \(key) is neither a string nor an object with content")
            }
            let lstrip = value[key: "lstrip"]?.bool ?? false, rstrip = value[key: "rstrip"]?.bool ?? false
            return ["content": JSONValue(content), "lstrip": JSONValue(lstrip), "rstrip": JSONValue(rstrip)]
        }
    }

    /// Meta `params.json` → canonical LLM config keys. The FFN width follows Meta's rule:
    /// multiple_of · ⌈int(ffn_dim_multiplier · int(8·dim/3)) / multiple_of⌉.
    public static func meta(_ p: JSONValue, origin path: String) throws -> [(key: String, value: JSONValue)] {
        guard let dim = p[key: "dim"]?.int, let layers = p[key: "n_layers"]?.int, let heads = p[key: "n_heads"]?.int else {
            throw ConvertError.invalidConfig(component: ComponentName.llm.rawValue, reason: "\(path): needs dim, n_layers and n_heads")
        }
        if let kv = p[key: "n_kv_heads"]?.int, kv != heads {
            throw ConvertError.invalidConfig(
                component: ComponentName.llm.rawValue, reason: "\(path): grouped-query attention (\(kv) kv heads) is not a Video-LLaMA decoder")
        }
        let multiple = p[key: "multiple_of"]?.int ?? 256
        // Real models are far below this bound; it keeps 8·dim and the rounding exact and in range.
        let maxWidth = 1 << 32
        func refuse(_ what: String) -> ConvertError {
            .invalidConfig(component: ComponentName.llm.rawValue, reason: "\(path): \(what) must lie in 1...\(maxWidth)")
        }
        guard (1...maxWidth).contains(dim) else { throw refuse("dim") }
        guard layers > 0, heads > 0 else { throw refuse("n_layers and n_heads") }
        guard (1...maxWidth).contains(multiple) else { throw refuse("multiple_of") }
        var hidden = Int(Double(8 * dim) / 3)
        if let m = p[key: "ffn_dim_multiplier"]?.double {
            let scaled = m * Double(hidden)
            guard scaled >= 1, scaled <= Double(maxWidth) else { throw refuse("int(ffn_dim_multiplier · int(8·dim/3))") }
            hidden = Int(scaled)
        }
        let intermediate = multiple * ((hidden + multiple - 1) / multiple)
        var out: [(key: String, value: JSONValue)] = [
            ("hidden", JSONValue(dim)), ("layers", JSONValue(layers)), ("heads", JSONValue(heads)),
            ("intermediate", JSONValue(intermediate)),
        ]
        if let eps = p[key: "norm_eps"] { out.append(("norm_eps", eps)) }
        if let v = p[key: "vocab_size"]?.int, v > 0 { out.append(("vocab", JSONValue(v))) }
        return out
    }
}
