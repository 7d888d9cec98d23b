import Testing
import VLInference
import VLPackFormat
import VLVerify

/// Every stage of the audio branch against the committed reference (Fixtures/reference, written by
/// ImageBind's own `ImageBindModel.get_audio_feature` and transformers' Q-Former from the same sample
/// checkpoints), at the named tolerances.
@Suite(.serialized) struct AudioParityTests {
    static func check(_ path: String) throws -> [StageResult] {
        try ReferenceCheck.run(branch: AudioBranch(weights: Weights(path: path)), reference: ReferenceFile(path: Samples.audioReference))
    }

    static let stageNames = ["audio.encoder.cls", "audio.encoder.out", "audio.qformer.out", "audio.out"]

    @Test(arguments: ["keep", "f32"])
    func floatWeightsMatchAtImplementationTolerance(variant: String) throws {
        let results = try Self.check(variant == "f32" ? Samples.audioF32 : Samples.audioKeep)
        expectFloatParity(results, stages: Self.stageNames)
    }

    /// Every recipe keeps the branch at Q8_0: judged by the 8-bit rule at `audio.out`, reported before.
    @Test(arguments: ["q8_0", "q4_k_m"])
    func recipesKeepTheBranchAt8Bit(recipe: String) throws {
        let path = recipe == "q8_0" ? Samples.audioQ8 : Samples.audioQ4
        #expect(try VLPackFile(path: path).tensor(named: "audio.encoder.blocks.0.attn.in_proj.weight")?.storage == .blocks(.q8_0))
        let results = try Self.check(path)
        let final = try #require(results.first { $0.name == "audio.out" && $0.chained })
        #expect(final.tolerance == .q8)
        #expect(final.metrics.cosine >= Tolerance.q8.minCosine!)
        for r in results {
            #expect(r.tolerance == (r.name == "audio.out" ? .q8 : Tolerance.q8.reportedOnly), "\(r.name)")
            #expect(r.pass, "\(r.name)")
        }
    }

    /// Tower weights forced to 4 bits are served by the 4-bit kernels and judged by the 4-bit rule.
    @Test func fourBitTowerWeightsPassTheQ4Tolerance() throws {
        #expect(try VLPackFile(path: Samples.audioQ4Tower).tensor(named: "audio.encoder.blocks.0.mlp.fc1.weight")?.storage == .blocks(.q4_1))
        let results = try Self.check(Samples.audioQ4Tower)
        let final = try #require(results.first { $0.name == "audio.out" && $0.chained })
        #expect(final.tolerance == .q4)
        #expect(final.metrics.cosine >= Tolerance.q4.minCosine!)
        for r in results { #expect(r.pass, "\(r.name)") }
    }

    @Test func wrongInputsAreRefused() throws {
        let branch = try AudioBranch(weights: Weights(path: Samples.audioKeep))
        let state = branch.makeRunState()
        #expect(throws: InferenceError.self) { try branch.forward([1, 2, 3], count: 1, state: state, on: .standard) }
        // 9 clips: the sample's audio position table holds 8.
        #expect(throws: InferenceError.tooManyClips(count: 9, limit: 8)) {
            try branch.forward([Float](repeating: 0, count: 9 * 32 * 44), count: 9, state: state, on: .standard)
        }
        #expect(branch.inputShape(count: 8) == [8, 1, 32, 44])
    }
}
