import Foundation
import Logging
import Testing
import VLConvert
import VLCore
import VLInference
import VLPackFormat
import VLQuant
import VLQuantize
import VLVerify

/// Sample model files shared by the tests: converted once per process from Fixtures/samples.
enum Samples {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let reference = "\(root)/Fixtures/reference/sample_vision.safetensors"
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vlinference-tests-\(getpid())").path

    /// The vision components converted as `vlpack convert` does (EVA Linear/Conv stay F16).
    static let keep: String = convert(dtype: .keep, name: "keep")
    /// Every float widened to F32 (the zero-copy weight path).
    static let f32: String = convert(dtype: .f32, name: "f32")
    /// The `q8_0` and `q4_k_m` recipes (Formats/QUANT_POLICY.md) applied to `keep`.
    static let q8: String = requantize(keep, to: .q8_0, name: "q8_0")
    static let q4: String = requantize(keep, to: .q4_k_m, name: "q4_k_m")
    /// `q4_k_m` with the towers (EVA, BLIP-2 Q-Former) forced to Q4_K (`--tensor-type 'vision\.=q4_k'`),
    /// so that the 4-bit kernels serve them; the sample's rows fall back to Q4_1. The video adapters
    /// stay Q8_0.
    static let q4Towers: String = requantize(
        keep, to: .q4_k_m, overrides: [TypeOverride(argument: "vision\\.=q4_k")!], name: "q4-towers")

    /// The audio components (ImageBind's audio tower + the AL branch), stored, widened to F32, and
    /// with the `q8_0` and `q4_k_m` recipes; an override puts the audio tower in 4 bits.
    static let audioInputs = ["imagebind_huge.pth", "AL_tiny.pth"]
    static let audioKeep: String = convert(dtype: .keep, name: "audio-keep", inputs: audioInputs)
    static let audioF32: String = convert(dtype: .f32, name: "audio-f32", inputs: audioInputs)
    static let audioQ8: String = requantize(audioKeep, to: .q8_0, name: "audio-q8_0")
    static let audioQ4: String = requantize(audioKeep, to: .q4_k_m, name: "audio-q4_k_m")
    static let audioQ4Tower: String = requantize(
        audioKeep, to: .q4_k_m, overrides: [TypeOverride(argument: "audio\\.encoder\\.=q4_k")!], name: "audio-q4-tower")
    static let audioReference = "\(root)/Fixtures/reference/sample_audio.safetensors"

    /// The sample LLM (`Fixtures/samples/llama-hf`, F16 weights) kept as stored, widened to F32, and
    /// quantized with the `q8_0`, `q4_0` and `q4_k_m` recipes.
    static let llmKeep: String = convert(dtype: .keep, name: "llm-keep", inputs: ["llama-hf"])
    static let llmF32: String = convert(dtype: .f32, name: "llm-f32", inputs: ["llama-hf"])
    static let llmBF16: String = convert(dtype: .bf16, name: "llm-bf16", inputs: ["llama-hf"])
    static let llmQ8: String = requantize(llmKeep, to: .q8_0, name: "llm-q8_0")
    static let llmQ4_0: String = requantize(llmKeep, to: .q4_0, name: "llm-q4_0")
    static let llmQ4KM: String = requantize(llmKeep, to: .q4_k_m, name: "llm-q4_k_m")
    static let llmReference = "\(root)/Fixtures/reference/sample_llm.safetensors"

    static func convert(
        dtype: ConversionPlan.DTypeRule, name: String,
        inputs: [String] = ["eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "VL_tiny.pth"]
    ) -> String {
        let s = "\(root)/Fixtures/samples"
        let out = "\(folder)/sample-\(name).vlpack"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var options = ConversionPlan.Options()
            options.dtype = dtype
            options.configOverrides = try JSONValue.parse(String(contentsOfFile: "\(s)/convert-config.json", encoding: .utf8))
            let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            let plan = try ConversionPlan.make(inputs: inputs.map { "\(s)/\($0)" }, maps: try ModelMap.bundled(), options: options, logger: logger)
            _ = try Converter(plan: plan, logger: logger).run(output: out)
        } catch {
            fatalError("converting the samples failed: \(error)")
        }
        return out
    }

    /// `source` quantized with `recipe`'s real policy, as `vlpack quantize` does.
    static func requantize(_ source: String, to recipe: QuantRecipe, overrides: [TypeOverride] = [], name: String) -> String {
        let out = "\(folder)/sample-\(name).vlpack"
        do {
            try requantize(source, to: recipe, overrides: overrides, output: out)
        } catch {
            fatalError("quantizing failed: \(error)")
        }
        return out
    }

    static func requantize(_ source: String, to recipe: QuantRecipe, overrides: [TypeOverride] = [], output: String) throws {
        _ = try QuantizationSession(policy: QuantPolicy(recipe: recipe, overrides: overrides), threads: 2).quantize(VLPackFile(path: source), output: output)
    }
}

/// A float-weight branch check: every stage from the reference's own input and the chain from the
/// input at every later stage, each within the float rule.
func expectFloatParity(_ results: [StageResult], stages: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(results.filter { !$0.chained }.map(\.name) == stages, sourceLocation: sourceLocation)
    #expect(results.filter(\.chained).map(\.name) == Array(stages.dropFirst()), sourceLocation: sourceLocation)
    for r in results {
        #expect(r.tolerance == .float, sourceLocation: sourceLocation)
        #expect(
            r.metrics.relL2 <= Tolerance.float.maxRelL2!, "\(r.name) \(r.chained ? "chained" : ""): rel_l2 \(r.metrics.relL2)",
            sourceLocation: sourceLocation)
        #expect(r.pass, sourceLocation: sourceLocation)
    }
}
