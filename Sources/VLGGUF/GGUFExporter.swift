import Foundation
import VLConvert
import VLCore
import VLPackFormat
import VLQuant
import VLQuantize
import VLTokenizer

/// `vlpack export FILE --to gguf`: the LLM component of a `.vlpack` as a GGUF file llama.cpp loads,
/// laid out the way llama.cpp's own `convert_hf_to_gguf.py` lays out a LLaMA.
///
/// - Metadata: `general.architecture = llama` and the `llama.*` hyperparameters from the LLM's
///   config; the SentencePiece vocabulary of the embedded `tokenizer.model` (every piece, score and
///   type), padded to the embedding rows: `[PAD]` (user-defined, score −1000) for the first extra row —
///   Vicuna v0's row 32000, from its added_tokens.json — then `[PAD{id}]` (unused, −10000), as
///   llama.cpp's converter fills ids it has no name for.
/// - Tensors: GGUF names (`token_embd`, `blk.N.attn_q`, ...), dimensions reversed, q/k rows
///   permuted from HF's rotate-half order back to the interleaved rotary order llama.cpp expects
///   (whole rows, so quantized blocks are moved, not re-encoded); 1-D tensors as F32; every other
///   tensor's bytes copied as they are (F16/BF16/F32 or GGUF blocks).
/// - Streaming: one tensor at a time, pages released after each; atomic output.
public struct GGUFExporter {
    /// What happened to one tensor.
    public struct Entry: Sendable, Equatable {
        public let source: String
        public let name: String
        public let type: GGMLType
        /// `copied`, `permuted`, `converted to F32`, ...
        public let note: String
    }

    public let file: VLPackFile

    public init(file: VLPackFile) { self.file = file }

    /// The GGUF name of a canonical LLM tensor; `nil` for tensors GGUF's llama has no place for.
    public static func ggufName(_ canonical: String) -> String? {
        let fixed = [
            TensorPrefix.llmEmbedTokens["weight"]: "token_embd.weight", TensorPrefix.llmNorm["weight"]: "output_norm.weight",
            TensorPrefix.llmHead["weight"]: "output.weight",
        ]
        if let n = fixed[canonical] { return n }
        guard let layer = QuantPolicy.llmLayer(of: canonical) else { return nil }
        let rest = canonical.dropFirst(TensorPrefix.llmLayers["\(layer)."].count)
        let parts = [
            "attn.q.weight": "attn_q", "attn.k.weight": "attn_k", "attn.v.weight": "attn_v", "attn.o.weight": "attn_output",
            "mlp.gate.weight": "ffn_gate", "mlp.up.weight": "ffn_up", "mlp.down.weight": "ffn_down",
            "attn_norm.weight": "attn_norm", "ffn_norm.weight": "ffn_norm",
        ]
        return parts[String(rest)].map { "blk.\(layer).\($0).weight" }
    }

    /// Writes the GGUF file; returns one entry per tensor, in file order.
    @discardableResult
    public func export(to path: String) throws -> [Entry] {
        guard let llm = file.parts.components[key: ComponentName.llm.rawValue], let config = llm[key: "config"] else {
            throw GGUFError.missingComponent(component: ComponentName.llm.rawValue)
        }
        func int(_ key: String) throws -> Int {
            guard let v = config[key: key]?.int else {
                throw GGUFError.invalidConfig(component: ComponentName.llm.rawValue, reason: "config has no integer '\(key)'")
            }
            return v
        }
        let (hidden, layers, heads) = (try int("hidden"), try int("layers"), try int("heads"))
        let kvHeads = config[key: "kv_heads"]?.int ?? heads
        let headDim = config[key: "head_dim"]?.int ?? hidden / heads

        // Tensors in llama.cpp's order: embeddings, blocks by layer, final norm, head.
        var sources = file.tensors.compactMap { t in Self.ggufName(t.name).map { (t, $0) } }
        func rank(_ name: String) -> (Int, Int, Int) {
            if name.hasPrefix("token_embd") { return (0, 0, 0) }
            if name.hasPrefix("blk.") {
                let parts = name.split(separator: ".")
                let order = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
                return (1, Int(parts[1]) ?? 0, order.firstIndex(of: String(parts[2])) ?? 99)
            }
            return name.hasPrefix("output_norm") ? (2, 0, 0) : (3, 0, 0)
        }
        sources.sort { rank($0.1) < rank($1.1) }
        guard let embed = sources.first(where: { $0.1 == "token_embd.weight" })?.0 else {
            throw GGUFError.missingTensor(component: ComponentName.llm.rawValue, tensor: TensorPrefix.llmEmbedTokens["weight"])
        }

        var infos: [GGUFTensorInfo] = []
        var entries: [Entry] = []
        for (t, name) in sources {
            let is1D = t.shape.count == 1
            guard let native = GGMLType(t.storage) else {
                throw GGUFError.unsupportedStorage(tensor: t.name, storage: t.storage.name)
            }
            let type: GGMLType = is1D ? .f32 : native
            let permuted = name.hasSuffix("attn_q.weight") || name.hasSuffix("attn_k.weight")
            let note = type != native ? "converted \(t.storage.name) to F32" : (permuted ? "rows permuted to interleaved rotary order" : "copied")
            infos.append(GGUFTensorInfo(name: name, dims: t.shape.reversed(), type: type))
            entries.append(Entry(source: t.name, name: name, type: type, note: note))
        }

        let metadata = try self.metadata(
            hidden: hidden, layers: layers, heads: heads, kvHeads: kvHeads, headDim: headDim,
            intermediate: try int("intermediate"), vocabRows: embed.shape[0], config: config,
            fileType: fileType(infos))
        let writer = try GGUFWriter(path: path, metadata: metadata, tensors: infos, inputs: [file.path])
        for ((t, name), info) in zip(sources, infos) {
            let bytes = file.bytes(of: t)
            try writer.write(tensor: name) { write in
                // Copies go through `TensorBytes.read` (the SIGBUS guard: a truncated input throws,
                // naming it). The whole-tensor conversion reads in place; a fault there is still one
                // error line naming the file (MappedFile).
                if info.type.storage != t.storage {
                    var values = [Float](repeating: 0, count: t.shape.reduce(1, *))
                    try bytes.withUnsafeBytes { buf in
                        try values.withUnsafeMutableBufferPointer {
                            try SourceConversion.floats(from: buf, storage: t.storage, rowLength: t.shape.last ?? 0, into: $0)
                        }
                    }
                    try values.withUnsafeBytes { try write($0) }
                } else if name.hasSuffix("attn_q.weight") || name.hasSuffix("attn_k.weight") {
                    let rowBytes = t.storage.byteCount(shape: [1] + t.shape.dropFirst())!
                    let hd = t.shape[0] / (name.hasSuffix("attn_q.weight") ? heads : kvHeads)
                    // GGUF row r (interleaved) is HF row hfRow(r).
                    for r in 0..<t.shape[0] {
                        let from = RotaryPermutation.hfRow(forMetaRow: r, headDim: hd) * rowBytes
                        try bytes.read(from..<(from + rowBytes), chunk: rowBytes) { try write($0) }
                    }
                } else {
                    try bytes.read { try write($0) }
                }
            }
            bytes.releasePages()
        }
        try writer.finish()
        return entries
    }

    /// llama.cpp's `llama_ftype`: the recipe's when the file records one, else the most common block
    /// type's (Q4_K → MOSTLY_Q4_K_M, Q6_K → Q6_K, Q8_0, Q4_0, Q4_1), else by the float dtype.
    func fileType(_ infos: [GGUFTensorInfo]) -> Int {
        if let recipe = file.parts.metadata[key: "quantization"]?[key: "recipe"]?.string.flatMap(QuantRecipe.init(rawValue:)) {
            return recipe.ggufFileType
        }
        // No recipe recorded (e.g. `convert --quantize`): the most common matrix type decides.
        let matrices = infos.filter { $0.dims.count > 1 }.map(\.type)
        let counts = Dictionary(matrices.map { ($0, 1) }, uniquingKeysWith: +)
        let quantized: [GGMLType: Int] = [.q4_k: 15, .q6_k: 18, .q8_0: 7, .q4_0: 2, .q4_1: 3]
        if let top = counts.filter({ quantized[$0.key] != nil }).max(by: { ($0.value, $0.key.rawValue) < ($1.value, $1.key.rawValue) }) {
            return quantized[top.key]!
        }
        let types = Set(matrices)
        if types == [.f32] { return 0 }
        if types == [.bf16] { return 32 }
        return 1
    }

    func metadata(
        hidden: Int, layers: Int, heads: Int, kvHeads: Int, headDim: Int, intermediate: Int, vocabRows: Int,
        config: JSONValue, fileType: Int
    ) throws -> [(key: String, value: GGUFValue)] {
        guard let tokName = file.parts.tokenizer[key: "model_tensor"]?.string, let tokTensor = file.tensor(named: tokName) else {
            throw GGUFError.missingTokenizer(component: ComponentName.llm.rawValue)
        }
        let model = try file.bytes(of: tokTensor).withUnsafeBytes { try SentencePieceModel(bytes: $0) }
        var tokens = model.pieces.map(\.text), scores = model.pieces.map(\.score), types = model.pieces.map(\.type.rawValue)
        guard tokens.count <= vocabRows else {
            throw GGUFError.vocabularyExceedsEmbeddings(pieces: tokens.count, rows: vocabRows)
        }
        for i in tokens.count..<vocabRows {
            if i == model.pieces.count {
                // Vicuna v0's row 32000: its added_tokens.json names it [PAD]; the converter makes added
                // tokens USER_DEFINED with score −1000.
                tokens.append("[PAD]")
                scores.append(-1000)
                types.append(SentencePieceModel.PieceType.userDefined.rawValue)
            } else {
                // Any further row, as convert_hf_to_gguf.py fills unnamed ids.
                tokens.append("[PAD\(i)]")
                scores.append(-10000)
                types.append(SentencePieceModel.PieceType.unused.rawValue)
            }
        }
        let name =
            (file.parts.components[key: ComponentName.llm.rawValue]?[key: "input"]?.string).map { ($0 as NSString).lastPathComponent }
            ?? ComponentName.llm.rawValue
        var kv: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("general.type", .string("model")),
            ("general.name", .string(name)),
            ("llama.vocab_size", .uint32(UInt32(vocabRows))),
            ("llama.context_length", .uint32(UInt32(config[key: "max_position"]?.int ?? 2048))),
            ("llama.embedding_length", .uint32(UInt32(hidden))),
            ("llama.block_count", .uint32(UInt32(layers))),
            ("llama.feed_forward_length", .uint32(UInt32(intermediate))),
            ("llama.rope.dimension_count", .uint32(UInt32(headDim))),
            ("llama.attention.head_count", .uint32(UInt32(heads))),
            ("llama.attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(Float(config[key: "norm_eps"]?.double ?? 1e-6))),
        ]
        if let base = config[key: "rope_base"]?.double { kv.append(("llama.rope.freq_base", .float32(Float(base)))) }
        kv += [
            ("general.file_type", .uint32(UInt32(fileType))),
            ("general.quantization_version", .uint32(2)),
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.pre", .string("default")),
            ("tokenizer.ggml.tokens", .strings(tokens)),
            ("tokenizer.ggml.scores", .float32s(scores)),
            ("tokenizer.ggml.token_type", .int32s(types)),
        ]
        // SentencePiece marks an absent special token with −1.
        for (key, id) in [("bos", model.bosID), ("eos", model.eosID), ("unknown", model.unkID), ("padding", model.padID)] where id >= 0 {
            kv.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(id))))
        }
        kv += [("tokenizer.ggml.add_bos_token", .bool(true)), ("tokenizer.ggml.add_eos_token", .bool(false))]
        return kv
    }
}

extension QuantRecipe {
    /// GGUF `general.file_type` (llama.cpp's `llama_ftype`): MOSTLY_Q8_0 = 7, MOSTLY_Q4_0 = 2, MOSTLY_Q4_K_M = 15.
    public var ggufFileType: Int {
        switch self {
        case .q8_0: 7
        case .q4_0: 2
        case .q4_k_m: 15
        }
    }
}
