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
    /// The audio branch, when the file has ImageBind's audio tower and the AL branch.
    public let audio: AudioBranch?

    public init(pack: VLPackFile) throws {
        self.pack = pack
        let present = Set((pack.parts.components.objectEntries ?? []).map(\.key))
        func has(_ components: [ComponentName]) -> Bool { present.isSuperset(of: components.map(\.rawValue)) }
        let weights = Weights(pack: pack)
        vision = has([.evaViT, .blip2QFormer, .videoBranch]) ? try VideoBranch(weights: weights) : nil
        audio = has([.imageBindAudio, .audioBranch]) ? try AudioBranch(weights: weights) : nil
    }

    /// The frame size the model's ViT was built for (224 for EVA ViT-g).
    public var imageSize: Int {
        vision?.eva.config.imageSize
            ?? pack.parts.components[key: ComponentName.evaViT.rawValue]?[key: "config"]?[key: "image_size"]?.int
            ?? MediaInput.defaultSize
    }

    /// `input.frames` and, when the file has the vision branch, every stage's output under its
    /// reference name; then `input.mel` and the audio stages for `audio`. Shapes: frames [T,3,S,S] →
    /// `vision.encoder.out` [T,N,W] → `vision.ln.out` [T,N,W] → `vision.qformer.out` [T,Q,H] →
    /// `video.qformer.out` [Qv,Hv] → `video.out` [Qv,d_llm]; mel [S,1,F,T] → `audio.encoder.cls` [S,W]
    /// → `audio.encoder.out` [S,D] → `audio.qformer.out` [Qa,Ha] → `audio.out` [Qa,d_llm].
    public func stageOutputs(for input: MediaInput?, audio sound: AudioInput? = nil, on context: ExecutionContext) throws -> StageOutputs {
        var outputs = StageOutputs()
        if let input {
            let t = input.frameCount
            try outputs.add(name: StageName.inputFrames.rawValue, shape: [t, 3, input.size, input.size], values: input.frames)
            if let vision { try Self.run(vision, input.frames, count: t, into: &outputs, on: context) }
        }
        if let sound {
            try outputs.add(name: StageName.inputMel.rawValue, shape: sound.clips.shape, values: sound.mel)
            if let audio { try Self.run(audio, sound.mel, count: sound.clipCount, into: &outputs, on: context) }
        }
        return outputs
    }

    /// Every stage of `branch` on `input`, each output added under its stage name.
    static func run<B: Branch>(_ branch: B, _ input: [Float], count: Int, into outputs: inout StageOutputs, on context: ExecutionContext) throws {
        try branch.run(input, count: count, state: branch.makeRunState(), on: context) { stage, values in
            try outputs.add(name: stage.name.rawValue, shape: stage.outputShape(branch, count), values: values)
        }
    }
}
