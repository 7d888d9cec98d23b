import Foundation
import Testing
@testable import VLConvert
import VLCore
import VLPackFormat

/// Bad inputs and configs are refused with the rule that failed, and leave no output behind.
@Suite struct ConversionErrorTests {
    @Test func shapeContradictingTheConfigIsRefused() throws {
        let dir = try Paths.scratch("shape")
        let out = (dir as NSString).appendingPathComponent("o.vlpack")
        var overrides = try sampleOverrides()
        overrides = ["eva_vit": ["image_size": 28, "patch_size": 14, "width": 160, "depth": 2, "heads": 2, "mlp": 512]]
        #expect(rule { _ = try convert([Paths.fixture("samples/eva_vit_g.pth")], output: out) { $0.configOverrides = overrides } } == "shapeMismatch")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func missingBlocksAreRefused() throws {
        let out = (try Paths.scratch("missing") as NSString).appendingPathComponent("o.vlpack")
        let overrides: JSONValue = ["eva_vit": ["image_size": 28, "patch_size": 14, "width": 160, "depth": 4, "heads": 2, "mlp": 704]]
        #expect(rule { _ = try convert([Paths.fixture("samples/eva_vit_g.pth")], output: out) { $0.configOverrides = overrides } } == "missingTensor")
    }

    @Test func unknownCheckpointsAndDuplicatesAreRefused() throws {
        let out = (try Paths.scratch("dup") as NSString).appendingPathComponent("o.vlpack")
        #expect(rule { _ = try convert([Paths.fixture("good/dtypes.pt")], output: out) } == "unknownFamily")
        let eva = Paths.fixture("samples/eva_vit_g.pth")
        let overrides = try sampleOverrides()
        #expect(rule { _ = try convert([eva, eva], output: out) { $0.configOverrides = overrides } } == "duplicateComponent")
    }

    @Test func unmappedTensorsNeedAllowUnmapped() throws {
        let dir = try Paths.scratch("unmapped")
        let input = (dir as NSString).appendingPathComponent("eva.safetensors")
        try writeTinyEVA(to: input, extra: ["blocks.0.attn.relative_position_bias_table"])
        let out = (dir as NSString).appendingPathComponent("o.vlpack")
        #expect(rule { _ = try convert([input], output: out) { $0.configOverrides = tinyEVAConfig } } == "unmappedTensor")
        let file = try convert([input], output: out) {
            $0.configOverrides = tinyEVAConfig; $0.allowUnmapped = true
        }
        #expect(file.tensor(named: "extra.eva_vit.blocks.0.attn.relative_position_bias_table") != nil)
    }

    /// Narrowing to f16 counts overflowing values and refuses; the half-written output vanishes.
    @Test func f16OverflowIsRefusedAndLeavesNothing() throws {
        let dir = try Paths.scratch("overflow")
        let input = (dir as NSString).appendingPathComponent("eva.safetensors")
        try writeTinyEVA(to: input, firstValue: 1e6)
        let out = (dir as NSString).appendingPathComponent("o.vlpack")
        #expect(
            rule {
                _ = try convert([input], output: out) {
                    $0.configOverrides = tinyEVAConfig; $0.dtype = .f16
                }
            } == "narrowingOverflow")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["eva.safetensors"])
        var allow = Converter.Options()
        allow.allowOverflow = true
        let file = try convert(
            [input], output: out,
            configure: {
                $0.configOverrides = tinyEVAConfig; $0.dtype = .f16
            }, writeOptions: allow)
        let cls = try #require(file.tensor(named: "vision.encoder.cls_token"))
        #expect(cls.storage == .plain(.f16))
        #expect(file.bytes(of: cls).withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) } == 0x7C00)
    }

    @Test func inputWithoutTensorsIsRefused() throws {
        let out = (try Paths.scratch("empty") as NSString).appendingPathComponent("o.vlpack")
        let input = Paths.fixture("readers/plain_data.pkl")
        do {
            _ = try convert([input], output: out)
            Issue.record("a pickle of plain data was converted")
        } catch let error as ConvertError {
            #expect(error.rule == "noTensorContributed")
            #expect("\(error)".contains(input))
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// The index file transformers prints names the same shard set as its folder.
    @Test func shardIndexPathConvertsLikeItsFolder() throws {
        let dir = try Paths.scratch("index")
        let folder = Paths.fixture("samples/llama-hf")
        let byFolder = try convert([folder], output: (dir as NSString).appendingPathComponent("folder.vlpack"))
        let byIndex = try convert(
            [(folder as NSString).appendingPathComponent("pytorch_model.bin.index.json")],
            output: (dir as NSString).appendingPathComponent("index.vlpack"))
        #expect(byIndex.tensors.count == byFolder.tensors.count)
        #expect(byIndex.tensors.map(\.name) == byFolder.tensors.map(\.name))
        #expect(byIndex.tensors.map(\.crc32) == byFolder.tensors.map(\.crc32))
        let config = { (file: VLPackFile) in file.parts.components[key: "llm"]?[key: "config"] }
        #expect(config(byIndex) != nil && config(byIndex) == config(byFolder))
        #expect(byIndex.parts.tokenizer == byFolder.parts.tokenizer)
    }

    /// A folder of symbolic links (the Hugging Face cache's snapshot layout) converts like the files
    /// themselves: the header reserved at the start (sizes in the provenance) matches the final one.
    @Test func aFolderOfSymbolicLinksConverts() throws {
        let dir = try Paths.scratch("symlinked-folder")
        let sample = Paths.fixture("samples/llama-hf")
        let folder = (dir as NSString).appendingPathComponent("snapshot")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: sample) {
            try FileManager.default.createSymbolicLink(
                atPath: (folder as NSString).appendingPathComponent(name), withDestinationPath: (sample as NSString).appendingPathComponent(name))
        }
        let linked = try convert([folder], output: (dir as NSString).appendingPathComponent("linked.vlpack"))
        let direct = try convert([sample], output: (dir as NSString).appendingPathComponent("direct.vlpack"))
        #expect(linked.tensors.map(\.crc32) == direct.tensors.map(\.crc32))
        let sizes = { (file: VLPackFile) in (file.parts.provenance[key: "sources"]?.array ?? []).compactMap { $0[key: "size"]?.int } }
        #expect(!sizes(linked).isEmpty && sizes(linked) == sizes(direct))
    }

    /// `generation_config.json`'s top_k is recorded in the llm config (the demo samples with it);
    /// the sample's file sets none, so nothing is recorded there; a negative one is refused.
    @Test func generationConfigTopKIsRecorded() throws {
        let dir = try Paths.scratch("generation-config")
        let sample = Paths.fixture("samples/llama-hf")
        let folder = (dir as NSString).appendingPathComponent("llama")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: sample) where name != "generation_config.json" {
            try FileManager.default.copyItem(
                atPath: (sample as NSString).appendingPathComponent(name), toPath: (folder as NSString).appendingPathComponent(name))
        }
        let generation = (folder as NSString).appendingPathComponent("generation_config.json")
        let topK = { (file: VLPackFile) in file.parts.components[key: "llm"]?[key: "config"]?[key: "top_k"]?.int }
        try Data(#"{"bos_token_id": 1, "top_k": 7}"#.utf8).write(to: URL(fileURLWithPath: generation))
        #expect(topK(try convert([folder], output: (dir as NSString).appendingPathComponent("k7.vlpack"))) == 7)
        #expect(topK(try convert([sample], output: (dir as NSString).appendingPathComponent("sample.vlpack"))) == nil)
        try Data(#"{"top_k": -1}"#.utf8).write(to: URL(fileURLWithPath: generation))
        #expect(rule { _ = try convert([folder], output: (dir as NSString).appendingPathComponent("bad.vlpack")) } == "invalidConfig")
    }

    /// The special tokens' strip flags are recorded from tokenizer_config.json: the sample's
    /// AddedTokens strip nothing; plain strings strip both sides.
    @Test func specialTokenStripFlagsAreRecorded() throws {
        let dir = try Paths.scratch("special-tokens")
        let sample = Paths.fixture("samples/llama-hf")
        let flags = { (file: VLPackFile) in
            (file.parts.tokenizer[key: "special_tokens"]?.array ?? []).map {
                "\($0[key: "content"]?.string ?? "?") \($0[key: "lstrip"]?.bool ?? false) \($0[key: "rstrip"]?.bool ?? false)"
            }
        }
        #expect(
            flags(try convert([sample], output: (dir as NSString).appendingPathComponent("added.vlpack"))) == [
                "<s> false false", "</s> false false", "<unk> false false",
            ])
        let folder = (dir as NSString).appendingPathComponent("plain")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: sample) where name != "tokenizer_config.json" {
            try FileManager.default.copyItem(
                atPath: (sample as NSString).appendingPathComponent(name), toPath: (folder as NSString).appendingPathComponent(name))
        }
        try Data(#"{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": null}"#.utf8)
            .write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("tokenizer_config.json")))
        #expect(
            flags(try convert([folder], output: (dir as NSString).appendingPathComponent("plain.vlpack"))) == [
                "<s> true true", "</s> true true", "<unk> true true",
            ])
    }

    @Test func outputMayNotOverwriteAnInput() throws {
        let dir = try Paths.scratch("overwrite")
        let input = (dir as NSString).appendingPathComponent("eva.safetensors")
        try writeTinyEVA(to: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        #expect(rule { _ = try convert([input], output: input) { $0.configOverrides = tinyEVAConfig } } == "overwritesInput")
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
    }

    @Test func componentsMustAgree() throws {
        let video = ConversionPlan.Component(name: "video_branch", family: .videoLLaMAVL, input: "vl.pth", config: [("llm_hidden", 4096)])
        let llm = ConversionPlan.Component(name: "llm", family: .llamaHF, input: "llama", config: [("hidden", 5120)])
        #expect(rule { try ConversionPlan.checkAcross([video, llm]) } == "crossComponentMismatch")
        #expect(rule { try ConversionPlan.checkAcross([video]) } == nil)
    }
}

@Suite struct MapLanguageTests {
    @Test(
        arguments: [
            ("blocks.{i}.attn.qkv.weight", "blocks.12.attn.qkv.weight", ["i": "12"]),
            ("blocks.{i}.**", "blocks.39.mlp.fc1.weight", ["i": "39"]),
            ("modality_trunks.{tower}.**", "modality_trunks.vision.blocks.0.x", ["tower": "vision"]),
            ("norm.**", "norm.weight", [:]),
        ] as [(String, String, [String: String])])
    func patternsMatch(_ pattern: String, _ name: String, _ captures: [String: String]) throws {
        #expect(try NamePattern(pattern).match(name) == captures)
    }

    @Test(arguments: [
        ("blocks.{i}.attn.qkv.weight", "blocks.x.attn.qkv.weight"),
        ("blocks.{i}.attn.qkv.weight", "blocks.1.attn.qkv.weight.extra"),
        ("norm.**", "fc_norm.weight"),
    ])
    func patternsRefuse(_ pattern: String, _ name: String) throws {
        #expect(try NamePattern(pattern).match(name) == nil)
    }

    @Test func expressions() throws {
        let v = ["width": 1408, "image_size": 224, "patch_size": 14, "mel_bins": 128, "kernel": 16, "stride": 10, "target_length": 204]
        #expect(try ShapeExpression.evaluate("3*width", v) == 4224)
        #expect(try ShapeExpression.evaluate("(image_size/patch_size)*(image_size/patch_size)+1", v) == 257)
        #expect(try ShapeExpression.evaluate("((mel_bins-kernel)/stride+1)*((target_length-kernel)/stride+1)+1", v) == 229)
        #expect(throws: ShapeExpression.Failure.self) { try ShapeExpression.evaluate("3*depth", v) }
        #expect(throws: ShapeExpression.Failure.self) { try ShapeExpression.evaluate("3*", v) }
    }

    /// Found while writing fuzz-json: these trapped (division overflow) or recursed without bound.
    @Test func expressionsRefuseOverflowAndDeepNesting() throws {
        #expect(throws: ShapeExpression.Failure.self) { try ShapeExpression.evaluate("(0-9223372036854775807-1)/(0-1)", [:]) }
        #expect(throws: ShapeExpression.Failure.self) { try ShapeExpression.evaluate("x/0", ["x": 1]) }
        let deep = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        #expect(throws: ShapeExpression.Failure.self) { try ShapeExpression.evaluate(deep, [:]) }
        let ok = String(repeating: "(", count: ShapeExpression.maxNesting) + "1" + String(repeating: ")", count: ShapeExpression.maxNesting)
        #expect(try ShapeExpression.evaluate(ok, [:]) == 1)
    }

    /// Found while writing fuzz-json: a hostile params.json trapped (8·dim overflow, multiple_of 0,
    /// an ffn_dim_multiplier beyond Int) instead of being refused.
    @Test(arguments: [
        #"{"dim": 4611686018427387904, "n_layers": 1, "n_heads": 1}"#,
        #"{"dim": 64, "n_layers": 1, "n_heads": 1, "multiple_of": 0}"#,
        #"{"dim": 64, "n_layers": 1, "n_heads": 1, "multiple_of": -256}"#,
        #"{"dim": 64, "n_layers": 1, "n_heads": 1, "ffn_dim_multiplier": 1e300}"#,
        #"{"dim": 64, "n_layers": 1, "n_heads": 1, "ffn_dim_multiplier": -1}"#,
        #"{"dim": -64, "n_layers": 1, "n_heads": 1}"#,
        #"{"dim": 64, "n_layers": 0, "n_heads": 1}"#,
    ])
    func hostileMetaParamsAreRefused(_ text: String) throws {
        #expect(throws: ConvertError.self) { try LLMConfigFile.meta(try JSONValue.parse(text), origin: "params.json") }
    }

    @Test func metaParamsFollowMetasFFNRule() throws {
        let params = try JSONValue.parse(#"{"dim": 4096, "n_layers": 32, "n_heads": 32, "multiple_of": 256, "norm_eps": 1e-06}"#)
        let config = try LLMConfigFile.meta(params, origin: "params.json")
        #expect(config.first { $0.key == "intermediate" }?.value.int == 11008)
    }

    /// Found while writing fuzz-json: a negative dimension in config_from_shapes indexed the shape
    /// out of range.
    @Test func negativeShapeDimensionIsRefused() throws {
        let doc = try JSONValue.parse(#"{"family": "llama-hf", "component": "llm", "config_from_shapes": {"x": ["a", -1]}}"#)
        #expect(throws: ConvertError.self) { try ModelMap.load(documents: ["bad.json": doc]) }
    }

    @Test func rotaryPermutationIsABijectionAndInvertible() {
        for headDim in [4, 64, 128] {
            let rows = 3 * headDim
            let forward = (0..<rows).map { RotaryPermutation.metaRow(forHFRow: $0, headDim: headDim) }
            #expect(Set(forward).count == rows)
            for r in 0..<rows { #expect(RotaryPermutation.hfRow(forMetaRow: forward[r], headDim: headDim) == r) }
        }
        // Spec §5.2: HF row h·hd + c·hd/2 + i = Meta row h·hd + 2i + c.
        #expect(RotaryPermutation.metaRow(forHFRow: 64 + 1, headDim: 128) == 3)
        #expect(RotaryPermutation.metaRow(forHFRow: 128 + 2, headDim: 128) == 128 + 4)
    }

    @Test func everyBundledMapLoads() throws {
        let maps = try ModelMap.bundled()
        #expect(maps.count == 7)
    }

    /// The maps are the vocabulary's data: each names a known component, and every canonical name it
    /// writes lies under a prefix that component owns.
    @Test func mapsSpeakTheVocabulary() throws {
        for map in try ModelMap.bundled().values {
            let component = try #require(ComponentName(rawValue: map.component), "\(map.family.rawValue): \(map.component)")
            #expect(!map.tensors.isEmpty)
            for rule in map.tensors {
                #expect(ComponentName.owner(ofTensor: rule.target) == component, "\(map.family.rawValue): \(rule.target)")
            }
        }
        #expect(ComponentName.owner(ofTensor: TensorPrefix.tokenizerTensor) == .llm)
        #expect(ComponentName.owner(ofTensor: "vision.query_tokens") == .blip2QFormer)
        #expect(ComponentName.owner(ofTensor: "vision.lnx.weight") == nil)
    }
}
