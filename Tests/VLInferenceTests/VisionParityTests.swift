import Testing
import VLInference
import VLVerify
import VLPackFormat

/// Every stage of the vision branch against the committed reference (Fixtures/reference, written by
/// transformers' BLIP-2 modules from the same sample checkpoints), at the named tolerances.
@Suite(.serialized) struct VisionParityTests {
    static func check(_ path: String) throws -> [StageResult] {
        let branch = try VideoBranch(weights: Weights(path: path))
        return try VisionReferenceCheck.run(branch: branch, reference: ReferenceFile(path: Samples.reference))
    }

    static let stageNames = ["vision.encoder.out", "vision.ln.out", "vision.qformer.out", "video.qformer.out", "video.out"]

    @Test(arguments: ["keep", "f32"])
    func floatWeightsMatchAtImplementationTolerance(variant: String) throws {
        let results = try Self.check(variant == "f32" ? Samples.f32 : Samples.keep)
        // Each stage from the reference's own input, and the chain from the frames at every later stage.
        expectFloatParity(results, stages: Self.stageNames)
    }

    /// Storage loss is judged at `video.out`; earlier stages over quantized weights are reported only.
    /// ln_vision alone reads only float weights and keeps the float rule. The sample also holds the
    /// storage target at every earlier stage, which is asserted here as a regression check.
    static func expectStorageRule(_ results: [StageResult], _ rule: Tolerance) {
        #expect(results.filter { $0.tolerance == .float }.map(\.name) == ["vision.ln.out"])
        for r in results where r.tolerance != .float {
            #expect(r.tolerance == (r.name == VisionReferenceCheck.output ? rule : rule.reportedOnly), "\(r.name)")
            #expect(r.metrics.cosine >= rule.minCosine!, "\(r.name): cosine \(r.metrics.cosine)")
        }
        for r in results { #expect(r.pass, "\(r.name)") }
    }

    @Test func q8WeightsPassTheStorageTolerance() throws {
        let results = try Self.check(Samples.q8)
        #expect(results.first { $0.name == "video.out" && $0.chained }?.tolerance == .q8)
        Self.expectStorageRule(results, .q8)
    }

    /// The q4_k_m recipe keeps every branch matrix at Q8_0, so the branch is judged by the 8-bit rule.
    @Test func q4KMRecipeKeepsTheBranchAt8Bit() throws {
        let pack = try VLPackFile(path: Samples.q4)
        #expect(pack.tensor(named: "vision.encoder.blocks.0.attn.qkv.weight")?.storage == .blocks(.q8_0))
        #expect(pack.tensor(named: "video.proj.weight")?.storage == .blocks(.q8_0))
        let results = try Self.check(Samples.q4)
        #expect(results.first { $0.name == "video.out" && $0.chained }?.tolerance == .q8)
        Self.expectStorageRule(results, .q8)
    }

    /// Tower weights forced to 4 bits (an override) are served by the 4-bit kernels and judged by the
    /// 4-bit rule.
    @Test func fourBitTowerWeightsPassTheQ4Tolerance() throws {
        let pack = try VLPackFile(path: Samples.q4Towers)
        // The sample's rows (96–704 wide) hold no 256-blocks: every matrix falls back to Q4_1.
        #expect(pack.tensor(named: "vision.encoder.blocks.0.attn.qkv.weight")?.storage == .blocks(.q4_1))
        #expect(pack.tensor(named: "vision.qformer.layers.0.ffn.fc2.weight")?.storage == .blocks(.q4_1))
        #expect(pack.tensor(named: "video.proj.weight")?.storage == .blocks(.q8_0))
        let results = try Self.check(Samples.q4Towers)
        let final = try #require(results.first { $0.name == "video.out" && $0.chained })
        #expect(final.tolerance == .q4)
        #expect(final.metrics.cosine >= Tolerance.q4.minCosine!)
        // video.out from its own input reads only llama_proj (Q8_0): the 8-bit rule.
        #expect(results.first { $0.name == "video.out" && !$0.chained }?.tolerance == .q8)
        for r in results { #expect(r.pass, "\(r.name)") }
    }

    @Test func aSecondCallReusesBuffersAndGivesTheSameResult() throws {
        let branch = try VideoBranch(weights: Weights(path: Samples.keep))
        let ref = try ReferenceFile(path: Samples.reference)
        let frames = try #require(try ref.tensor("input.frames", rank: 4))
        let state = branch.makeRunState()
        let first = try branch.forward(frames: frames.values, count: frames.shape[0], state: state, on: .standard)
        let one = try branch.forward(frames: Array(frames.values.prefix(frames.values.count / 2)), count: 1, state: state, on: .standard)
        let again = try branch.forward(frames: frames.values, count: frames.shape[0], state: state, on: .standard)
        #expect(first == again)
        #expect(one.count == first.count && one != first)
    }

    @Test func wrongInputsAreRefused() throws {
        let branch = try VideoBranch(weights: Weights(path: Samples.keep))
        let state = branch.makeRunState()
        #expect(throws: InferenceError.self) { try branch.forward(frames: [1, 2, 3], count: 1, state: state, on: .standard) }
        #expect(throws: InferenceError.self) {
            try branch.forward(frames: [Float](repeating: 0, count: 9 * 3 * 28 * 28), count: 9, state: state, on: .standard)
        }
    }
}
