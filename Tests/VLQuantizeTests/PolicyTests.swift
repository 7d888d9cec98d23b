import Foundation
import Testing
import VLCore
import VLPackFormat
import VLQuant
import VLTestSamples
@testable import VLQuantize

/// The types the recipes actually choose, on the real sample model (LLM hidden 256, EVA width 160).
@Suite struct PolicyTests {
    static func decisions(_ recipe: QuantRecipe, overrides: [TypeOverride] = [], keep: [String] = []) throws -> [String: QuantDecision] {
        let plan = try Samples.plan()
        let decided = try QuantPolicy(recipe: recipe, overrides: overrides, keep: keep)
            .decide(plan.tensors.map { ($0.name, .plain($0.dtype), $0.shape) })
        return Dictionary(uniqueKeysWithValues: decided.map { ($0.name, $0) })
    }

    @Test func q4KMChoosesKQuantsInTheLLMAndProtectsSensitiveLayers() throws {
        let d = try Self.decisions(.q4_k_m)
        // 2 layers: use_more_bits(0, 2) is false, use_more_bits(1, 2) is true.
        for i in 0..<2 {
            for name in ["attn.q", "attn.k", "attn.o", "mlp.gate", "mlp.up"] {
                #expect(d["llm.layers.\(i).\(name).weight"]?.chosen == .q4_k)
            }
            let sensitive: QuantType = i == 1 ? .q6_k : .q4_k
            #expect(d["llm.layers.\(i).attn.v.weight"]?.chosen == sensitive)
            #expect(d["llm.layers.\(i).mlp.down.weight"]?.chosen == sensitive)
            #expect(d["llm.layers.\(i).attn_norm.weight"]?.chosen == nil)
            #expect(d["llm.layers.\(i).attn_norm.weight"]?.reason == "role: norm (kept)")
        }
        #expect(d["llm.lm_head.weight"]?.chosen == .q6_k)
        #expect(d["llm.embed_tokens.weight"]?.chosen == .q6_k)
        #expect(d["llm.norm.weight"]?.chosen == nil)
    }

    /// The Q4_K fallback, reached through an override now that no recipe puts the towers in 4 bits.
    @Test func q4KFallsBackToQ4_1OnShortRows() throws {
        let d = try Self.decisions(.q4_k_m, overrides: [TypeOverride(argument: "vision\\.encoder\\.=q4_k")!])
        let qkv = try #require(d["vision.encoder.blocks.0.attn.qkv.weight"])
        #expect(qkv.requested == .q4_k)
        #expect(qkv.chosen == .q4_1)
        #expect(qkv.reason.contains("fallback: row 160 not a multiple of 256 → Q4_1"))
        #expect(d["vision.encoder.blocks.0.mlp.fc2.weight"]?.chosen == .q4_1)  // row 704
        #expect(d["vision.encoder.blocks.0.attn.qkv.weight"].map { $0.storage } == .blocks(.q4_1))
    }

    /// Every recipe keeps every matrix of the modality branches (towers, Q-Formers, projections) at
    /// Q8_0; only the LLM takes the recipe's 4-bit types.
    @Test(arguments: QuantRecipe.allCases)
    func branchMatricesStayQ8_0(recipe: QuantRecipe) throws {
        let d = try Self.decisions(recipe)
        let branchMatrices = d.values.filter { ComponentName.owner(ofTensor: $0.name).map { $0 != .llm } ?? false && $0.requested != nil }
        for component in ComponentName.allCases where component != .llm {
            #expect(branchMatrices.contains { ComponentName.owner(ofTensor: $0.name) == component }, "\(component.rawValue)")
        }
        for m in branchMatrices {
            #expect(m.requested == .q8_0, "\(m.name)")
            #expect(m.chosen == .q8_0, "\(m.name)")
            let owner = ComponentName.owner(ofTensor: m.name)?.rawValue ?? "?"
            #expect(m.reason == "modality branch (\(owner)) → Q8_0", "\(m.name): \(m.reason)")
        }
    }

    @Test func floatRolesStayFloat() throws {
        let d = try Self.decisions(.q4_k_m)
        let kept: [(String, TensorRole)] = [
            ("vision.encoder.cls_token", .clsToken), ("vision.encoder.pos_embed", .positionEmbedding),
            ("vision.encoder.patch_embed.weight", .patchEmbedding), ("vision.encoder.patch_embed.bias", .bias),
            ("vision.encoder.blocks.0.norm1.weight", .norm), ("vision.encoder.blocks.0.attn.q_bias", .bias),
            ("vision.query_tokens", .queryTokens), ("video.query_tokens", .queryTokens), ("video.frame_pos.weight", .positionEmbedding),
            ("vision.ln.weight", .norm), ("audio.encoder.cls_token", .clsToken),
        ]
        for (name, role) in kept {
            let decision = try #require(d[name], "\(name) missing from the sample")
            #expect(decision.role == role, "\(name)")
            #expect(decision.chosen == nil, "\(name)")
            #expect(decision.storage.name != "Q4_K", "\(name)")
        }
        #expect(d.values.filter { $0.role == .norm || $0.role == .bias }.allSatisfy { $0.chosen == nil })
    }

    @Test func recipesQ8AndQ4_0() throws {
        let q8 = try Self.decisions(.q8_0)
        #expect(q8["llm.layers.0.attn.q.weight"]?.chosen == .q8_0)
        #expect(q8["llm.lm_head.weight"]?.chosen == .q8_0)
        #expect(q8["vision.encoder.blocks.0.attn.qkv.weight"]?.chosen == .q8_0)
        let q4 = try Self.decisions(.q4_0)
        #expect(q4["llm.layers.1.attn.v.weight"]?.chosen == .q4_0)
        #expect(q4["llm.lm_head.weight"]?.chosen == .q6_k)
        #expect(q4["llm.layers.0.mlp.up.weight"]?.chosen == .q4_0)
    }

    @Test func overridesLastMatchWinsAndKeepBeatsThem() throws {
        let d = try Self.decisions(
            .q4_k_m, overrides: [TypeOverride(argument: "attn\\.=q8_0")!, TypeOverride(argument: "llm\\.layers\\.0\\.attn\\.q=Q6_K")!],
            keep: ["mlp\\.gate"])
        #expect(d["llm.layers.0.attn.q.weight"]?.chosen == .q6_k)
        #expect(d["llm.layers.0.attn.k.weight"]?.chosen == .q8_0)
        #expect(d["llm.layers.0.attn.k.weight"]?.reason == "override: attn\\.=Q8_0")
        #expect(d["llm.layers.1.mlp.gate.weight"]?.chosen == nil)
        #expect(d["llm.layers.1.mlp.gate.weight"]?.reason == "override: --keep mlp\\.gate (kept)")
        #expect(d["llm.layers.0.attn_norm.weight"]?.chosen == nil)  // 1-D: never quantized
        #expect(TypeOverride(argument: "x=q5_0") == nil)
        #expect(TypeOverride(argument: "(=q8_0") == nil)
    }

    @Test func usesMoreBitsMatchesLlamaCpp() {
        // llama.cpp, 32 layers: 0–3, 28–31 and every third from 6.
        let picked = (0..<32).filter { QuantRecipe.usesMoreBits(layer: $0, of: 32) }
        #expect(picked == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31])
    }
}
