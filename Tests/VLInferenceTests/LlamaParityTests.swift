import Foundation
import Testing
import VLCore
import VLGeneration
import VLInference
import VLVerify

/// The LLaMA decoder against transformers' LlamaForCausalLM on the sample LLM
/// (Fixtures/reference/sample_llm.safetensors, written by generate_llm_reference.py).
@Suite(.serialized) struct LlamaParityTests {
    static func reference() throws -> (ids: [Int], logits: [Float], greedy: [Int]) {
        let file = try ReferenceFile(path: Samples.llmReference)
        let ids = try #require(try file.tensor(StageName.inputIDs.rawValue, rank: 1)).values.map { Int($0) }
        let logits = try #require(try file.tensor(StageName.llmLogits.rawValue, rank: 2))
        #expect(logits.shape == [ids.count, 512])
        let greedy = try #require(try file.tensor(StageName.llmGreedyIDs.rawValue, rank: 1)).values.map { Int($0) }
        return (ids, logits.values, greedy)
    }

    @Test(arguments: ["keep", "f32"])
    func floatWeightsMatchTransformers(variant: String) throws {
        let ref = try Self.reference()
        let decoder = try LlamaDecoder(weights: Weights(path: variant == "f32" ? Samples.llmF32 : Samples.llmKeep))
        let state = decoder.makeRunState(capacity: 64)
        let logits = try decoder.forward(embeddings: try decoder.embed(ref.ids), count: ref.ids.count, state: state, on: .standard)
        let m = ErrorMetrics(got: logits, want: ref.logits)
        #expect(Tolerance.float.accepts(m), "rel_l2 \(m.relL2), max_abs \(m.maxAbs)")
        print("sample LLM, \(variant): logits rel_l2 \(m.relL2), max_abs \(m.maxAbs)")
        #expect(state.length == ref.ids.count)

        let greedy = try decoder.greedy(
            prompt: ref.ids, maxNewTokens: ref.greedy.count, stopIDs: [],
            state: decoder.makeRunState(capacity: 64), on: .standard)
        #expect(greedy == ref.greedy)
    }

    /// Every named stage (input embeddings, each layer's output, the logits) against transformers run
    /// on exactly the values each storage holds: F32 and F16 against the fp16 checkpoint, BF16 against
    /// it rounded to bfloat16, Q8_0/Q4_0/q4_k_m against the file's GGUF export dequantized by the
    /// `gguf` package (generate_llm_reference.py --gguf), all by the float rule at every stage — this
    /// is implementation parity; what quantization itself costs is judged by mean KL (`verify`).
    @Test(arguments: ["f32", "keep", "bf16", "q8_0", "q4_0", "q4_k_m"])
    func everyStageMatchesTransformers(variant: String) throws {
        let path = [
            "f32": Samples.llmF32, "keep": Samples.llmKeep, "bf16": Samples.llmBF16, "q8_0": Samples.llmQ8, "q4_0": Samples.llmQ4_0,
            "q4_k_m": Samples.llmQ4KM,
        ][variant]!
        let referenceName = ["bf16": "sample_llm_bf16", "q8_0": "sample_llm_q8_0", "q4_0": "sample_llm_q4_0", "q4_k_m": "sample_llm_q4_k_m"][variant]
        let file = try ReferenceFile(path: referenceName.map { "\(Samples.root)/Fixtures/reference/\($0).safetensors" } ?? Samples.llmReference)
        let ids = try #require(try file.tensor(StageName.inputIDs.rawValue, rank: 1)).values.map { Int($0) }
        let embeds = try #require(try file.tensor(StageName.llmInputEmbeds.rawValue, rank: 2))
        let layers = try #require(try file.tensor(StageName.llmLayersOut.rawValue, rank: 3))
        let logits = try #require(try file.tensor(StageName.llmLogits.rawValue, rank: 2))
        let decoder = try LlamaDecoder(weights: Weights(path: path, prefillProducts: .float))
        let (L, d) = (ids.count, decoder.config.hidden)
        #expect(embeds.shape == [L, d] && layers.shape == [decoder.config.layers, L, d])
        var seen: [(String, [Float], [Float])] = []
        let got = try decoder.forward(
            embeddings: try decoder.embed(ids), count: L, state: decoder.makeRunState(capacity: 64), on: .standard
        ) { stage, hidden in
            switch stage {
            case .inputEmbeds: seen.append((StageName.llmInputEmbeds.rawValue, Array(hidden), embeds.values))
            case .layer(let l): seen.append(("\(StageName.llmLayersOut.rawValue)[\(l)]", Array(hidden), Array(layers.values[(l * L * d)..<((l + 1) * L * d)])))
            }
        }
        seen.append((StageName.llmLogits.rawValue, got, logits.values))
        #expect(seen.count == decoder.config.layers + 2)
        for (name, mine, want) in seen {
            let m = ErrorMetrics(got: mine, want: want)
            #expect(Tolerance.float.accepts(m), "\(variant) \(name): rel_l2 \(m.relL2) cosine \(m.cosine)")
            print("sample LLM \(variant) \(name): rel_l2 \(m.relL2) cosine \(m.cosine)")
        }
    }

    /// Q4_0 and Q8_0 prefill with integer products (the default where AVX-512 VNNI is present) against
    /// the same references as above: they add only the rounding of the input rows to 8-bit blocks, the
    /// bound that one-token steps are held to.
    @Test(arguments: ["q4_0", "q8_0"])
    func integerPrefillAddsOnlyTheActivationRounding(variant: String) throws {
        let file = try ReferenceFile(path: "\(Samples.root)/Fixtures/reference/sample_llm_\(variant).safetensors")
        let ids = try #require(try file.tensor(StageName.inputIDs.rawValue, rank: 1)).values.map { Int($0) }
        let want = try #require(try file.tensor(StageName.llmLogits.rawValue, rank: 2)).values
        let decoder = try LlamaDecoder(weights: Weights(path: variant == "q4_0" ? Samples.llmQ4_0 : Samples.llmQ8))
        let got = try decoder.forward(embeddings: try decoder.embed(ids), count: ids.count, state: decoder.makeRunState(capacity: 64), on: .standard)
        let m = ErrorMetrics(got: got, want: want)
        #expect(m.relL2 <= FusedDecodeTests.activationRoundingTolerance, "rel_l2 \(m.relL2)")
    }

    /// Prefill in pieces (the KV cache carries the earlier positions) equals prefill at once; a cache
    /// truncated to a prefix and refilled gives the same logits again.
    @Test func cacheContinuesAndTruncates() throws {
        let ref = try Self.reference()
        let decoder = try LlamaDecoder(weights: Weights(path: Samples.llmF32))
        let split = 9, ids = ref.ids
        let state = decoder.makeRunState(capacity: 64)
        let first = try decoder.forward(embeddings: try decoder.embed(Array(ids[..<split])), count: split, state: state, on: .standard)
        let rest = try decoder.forward(embeddings: try decoder.embed(Array(ids[split...])), count: ids.count - split, state: state, on: .standard)
        #expect(Tolerance.float.accepts(ErrorMetrics(got: first + rest, want: ref.logits)))

        state.truncate(to: split)
        #expect(state.length == split)
        let again = try decoder.forward(embeddings: try decoder.embed(Array(ids[split...])), count: ids.count - split, state: state, on: .standard)
        #expect(again == rest)
        #expect(throws: InferenceError.contextFull(needed: 64 + 1, capacity: 64)) {
            let full = decoder.makeRunState(capacity: 64)
            _ = try decoder.forward(embeddings: try decoder.embed([Int](repeating: 1, count: 65)), count: 65, state: full, on: .standard)
        }
    }
}

/// The shared generation loop over the sample LLM.
@Suite struct GeneratorTests {
    @Test func greedyGenerationEqualsTransformers() throws {
        let ref = try LlamaParityTests.reference()
        let decoder = try LlamaDecoder(weights: Weights(path: Samples.llmF32))
        var parameters = GenerationParameters()
        parameters.greedy = true
        parameters.maxNewTokens = ref.greedy.count
        var streamed: [Int] = []
        let result = try Generator(decoder: decoder, parameters: parameters, stopSequences: [])
            .generate(
                input: try decoder.embed(ref.ids), count: ref.ids.count, sequence: ref.ids,
                state: decoder.makeRunState(capacity: 64), on: .standard
            ) { streamed.append($0) }
        #expect(result.ids == ref.greedy)
        #expect(streamed == ref.greedy)
        #expect(result.stop == .maxNewTokens)
        // A stop sequence ends the run at its first occurrence and is not returned.
        let stop = Array(ref.greedy[10...11])
        let first = try #require((0..<(ref.greedy.count - 1)).first { Array(ref.greedy[$0...($0 + 1)]) == stop })
        let stopped = try Generator(decoder: decoder, parameters: parameters, stopSequences: [stop])
            .generate(
                input: try decoder.embed(ref.ids), count: ref.ids.count, sequence: ref.ids,
                state: decoder.makeRunState(capacity: 64), on: .standard)
        #expect(stopped.stop == .stopSequence)
        #expect(stopped.ids == Array(ref.greedy[..<first]))
    }

    @Test func seededSamplingRepeats() throws {
        let ref = try LlamaParityTests.reference()
        let decoder = try LlamaDecoder(weights: Weights(path: Samples.llmF32))
        func sample(seed: UInt64) throws -> [Int] {
            var parameters = GenerationParameters()
            parameters.maxNewTokens = 12
            parameters.seed = seed
            return try Generator(decoder: decoder, parameters: parameters, stopSequences: [])
                .generate(
                    input: try decoder.embed(ref.ids), count: ref.ids.count, sequence: ref.ids,
                    state: decoder.makeRunState(capacity: 64), on: .standard
                ).ids
        }
        let a = try sample(seed: 1), b = try sample(seed: 1), c = try sample(seed: 2)
        #expect(a.count == 12 && a == b)
        #expect(a != c)
    }
}
