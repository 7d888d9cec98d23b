import VLInference
import VLPackFormat

/// The model stages of `vlpack embed`: the vision branch of the model, stage by stage, each output
/// written under its `Formats/REFERENCE.md` name. Models without the vision components write only
/// `input.frames`.
///
/// Shapes: frames [T,3,S,S] → `vision.encoder.out` [T,N,W] → `vision.ln.out` [T,N,W] →
/// `vision.qformer.out` [T,Q,H] → `video.qformer.out` [Qv,Hv] → `video.out` [Qv,d_llm].
func runModelStages(model: VLPackFile, input: EmbedInput, outputs: inout EmbedOutputs) throws {
    let present = Set((model.parts.components.objectEntries ?? []).map(\.key))
    guard present.isSuperset(of: ["eva_vit", "blip2_qformer", "video_branch"]) else { return }
    let branch = try VideoBranch(weights: Weights(pack: model))
    let t = input.frameCount
    let (n, w) = (branch.eva.config.tokens, branch.eva.config.width)
    let (q, h) = (branch.qformer.config.queries, branch.qformer.config.hidden)
    let (qv, hv) = (branch.videoQFormer.config.queries, branch.videoQFormer.config.hidden)

    let tokens = try branch.encode(frames: input.frames, count: t)
    try outputs.add(name: "vision.encoder.out", shape: [t, n, w], values: tokens)
    let normed = try branch.lnVision(tokens, frames: t)
    try outputs.add(name: "vision.ln.out", shape: [t, n, w], values: normed)
    let perFrame = try branch.blip2QFormer(normed, frames: t)
    try outputs.add(name: "vision.qformer.out", shape: [t, q, h], values: perFrame)
    let video = try branch.videoQFormer(perFrame, frames: t)
    try outputs.add(name: "video.qformer.out", shape: [qv, hv], values: video)
    try outputs.add(name: "video.out", shape: [qv, branch.llmHidden], values: try branch.project(video))
}
