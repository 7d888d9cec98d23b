import ArgumentParser
import Foundation
import VLCore
import VLInference
import VLPackFormat
import VLPipeline

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Preprocess a video or image as Video-LLaMA does and write every intermediate tensor.",
        discussion: """
            Video: frames are sampled and scaled as the official loader (decord + uniform sampling) \
            does — n = min(--frames, frame count), indices arange(0, vlen, vlen/n) — resized straight \
            to the model's image size (224 for EVA ViT-g) and CLIP-normalized. Image: PIL-style bicubic \
            resize, then the same normalization. Then the vision branch runs on them. The output \
            safetensors file holds `input.frames` [T,3,S,S] float32 and every stage's output \
            (vision.encoder.out, vision.ln.out, vision.qformer.out, video.qformer.out, video.out; see \
            Formats/REFERENCE.md); its metadata records the indices and the prompt sentence.

            Examples:
              vlpack embed model.vlpack --video clip.mp4 -o clip.safetensors
              vlpack embed model.vlpack --image photo.jpg -o photo.safetensors
            """
    )

    @Argument(help: "The .vlpack model file.")
    var model: String

    @Option(help: "A video file (any container/codec FFmpeg decodes).")
    var video: String?

    @Option(help: "A still image (PNG, JPEG, ...).")
    var image: String?

    @Option(name: .shortAndLong, help: "The output .safetensors file.")
    var output: String

    @Option(help: "Frames to sample from a video (the demo uses 8).")
    var frames: Int = 8

    func validate() throws {
        guard (video == nil) != (image == nil) else { throw ValidationError("pass exactly one of --video FILE or --image FILE") }
        guard frames >= 1, frames <= 1024 else { throw ValidationError("--frames must be between 1 and 1024") }
    }

    func run() throws {
        let pipeline = try Pipeline(pack: VLPackFile(path: model))
        // Frames are made at the size the model's ViT was built for (224 for EVA ViT-g).
        let size = pipeline.imageSize
        let input = try video.map { try MediaInput.video($0, frames: frames, size: size) } ?? MediaInput.image(image!, size: size)
        let outputs = try pipeline.stageOutputs(for: input, on: .standard)
        try outputs.write(to: output, metadata: input.metadata)
        print("\(output): \(outputs.names.joined(separator: ", "))")
    }
}
