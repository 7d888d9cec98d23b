import VLPackFormat

/// The model stages of `vlpack embed`: the seam where the neural network (VLInference) plugs in.
///
/// Called once, after `input.frames` is registered, with the opened model and the preprocessed
/// input (`input.frames`: `[T, 3, 224, 224]` float32, CLIP-normalized; `input.message`: the video
/// prompt sentence). Each stage appends its output under its documented name (`vision.encoder.out`,
/// `vision.ln.out`, `qformer.out`, ... see spec §8) with `outputs.add(name:shape:values:)`; names
/// must be unique. Nothing runs here yet: until VLInference is wired in, `embed` writes only
/// `input.frames`.
func runModelStages(model: VLPackFile, input: EmbedInput, outputs: inout EmbedOutputs) throws {
    _ = model
    _ = input
}
