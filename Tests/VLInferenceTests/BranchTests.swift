import Testing
import VLCore
import VLInference

/// The vision branch's one stage list: its order, its shapes from the config, and that iterating it
/// is the forward pass.
@Suite struct BranchTests {
    @Test func stagesFollowTheReferenceChain() {
        #expect(VideoBranch.stageNames == [.inputFrames, .visionEncoderOut, .visionLNOut, .visionQFormerOut, .videoQFormerOut, .videoOut])
        #expect(VideoBranch.stages.map(\.label) == ["encoder", "ln_vision", "qformer", "video_qformer", "llama_proj"])
        // Every weight prefix a stage reads belongs to the component that owns the stage's weights.
        let owners = VideoBranch.stages.map { Set($0.weights.map(\.component)) }
        #expect(owners == [[.evaViT], [.blip2QFormer], [.blip2QFormer], [.videoBranch], [.videoBranch]])
    }

    @Test func shapesComeFromTheConfig() throws {
        let branch = try VideoBranch(weights: Weights(path: Samples.keep))
        // The sample: image 28, width 160, patch 14 → 5 tokens; 8 queries of 96; d_llm 256.
        #expect(branch.shape(of: .inputFrames, count: 3) == [3, 3, 28, 28])
        #expect(branch.shape(of: .visionEncoderOut, count: 3) == [3, 5, 160])
        #expect(branch.shape(of: .visionQFormerOut, count: 3) == [3, 8, 96])
        #expect(branch.shape(of: .videoOut, count: 3) == [8, 256])
    }

    @Test func iteratingTheStagesIsTheForwardPass() throws {
        let branch = try VideoBranch(weights: Weights(path: Samples.keep))
        let t = 2
        let frames = (0..<(t * 3 * 28 * 28)).map { Float($0 % 97) / 48 - 1 }
        var seen: [StageName] = []
        let last = try branch.run(frames, count: t, state: branch.makeRunState(), on: .standard) { stage, values in
            seen.append(stage.name)
            #expect(values.count == stage.outputShape(branch, t).reduce(1, *), "\(stage.name)")
        }
        #expect(seen == VideoBranch.stages.map(\.name))
        #expect(last == (try branch.forward(frames: frames, count: t, state: branch.makeRunState(), on: .standard)))
    }
}
