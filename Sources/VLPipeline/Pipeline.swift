import VLCore
import VLInference
import VLPackFormat

/// The library-level pipeline over one mapped `.vlpack`: media in, every stage output out (later:
/// the prompt, the LLM and the answer). The CLI, the tests and a future server call this; the model
/// is loaded once and shared, each call brings its own run state and execution context.
public struct Pipeline: Sendable {
    public let pack: VLPackFile
    /// The vision branch, when the file has its three components.
    public let vision: VideoBranch?

    public init(pack: VLPackFile) throws {
        self.pack = pack
        let present = Set((pack.parts.components.objectEntries ?? []).map(\.key))
        let needed: [ComponentName] = [.evaViT, .blip2QFormer, .videoBranch]
        vision = present.isSuperset(of: needed.map(\.rawValue)) ? try VideoBranch(weights: Weights(pack: pack)) : nil
    }

    /// The frame size the model's ViT was built for (224 for EVA ViT-g).
    public var imageSize: Int {
        vision?.eva.config.imageSize
            ?? pack.parts.components[key: ComponentName.evaViT.rawValue]?[key: "config"]?[key: "image_size"]?.int
            ?? MediaInput.defaultSize
    }

    /// `input.frames` and, when the file has the vision branch, every stage's output under its
    /// reference name. Shapes: frames [T,3,S,S] → `vision.encoder.out` [T,N,W] → `vision.ln.out`
    /// [T,N,W] → `vision.qformer.out` [T,Q,H] → `video.qformer.out` [Qv,Hv] → `video.out` [Qv,d_llm].
    public func stageOutputs(for input: MediaInput, on context: ExecutionContext) throws -> StageOutputs {
        var outputs = StageOutputs()
        let t = input.frameCount
        try outputs.add(name: StageName.inputFrames.rawValue, shape: [t, 3, input.size, input.size], values: input.frames)
        guard let vision else { return outputs }
        try vision.run(input.frames, count: t, state: vision.makeRunState(), on: context) { stage, values in
            try outputs.add(name: stage.name.rawValue, shape: stage.outputShape(vision, t), values: values)
        }
        return outputs
    }
}
