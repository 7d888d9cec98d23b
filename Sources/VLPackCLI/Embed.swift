import ArgumentParser
import Foundation
import VLCore
import VLMedia
import VLPackFormat
import VLSafetensors

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
        do {
            let pack = try VLPackFile(path: model)
            // Frames are made at the size the model's ViT was built for (224 for EVA ViT-g).
            let size = pack.parts.components[key: "eva_vit"]?[key: "config"]?[key: "image_size"]?.int ?? EmbedInput.size
            let input = try EmbedInput.load(video: video, image: image, frames: frames, size: size)
            var outputs = EmbedOutputs()
            try outputs.add(name: "input.frames", shape: [input.frameCount, 3, input.size, input.size], values: input.frames)
            try runModelStages(model: pack, input: input, outputs: &outputs)
            try outputs.write(to: output, metadata: input.metadata)
            print("\(output): \(outputs.names.joined(separator: ", "))")
        } catch {
            throw fail(error)
        }
    }
}

/// Preprocessed model input: what `input.frames` holds, plus what the prompt needs.
struct EmbedInput {
    enum Kind: String { case video, image }
    let kind: Kind
    let source: String
    /// `[T, 3, size, size]` float32, CLIP-normalized (T = 1 for an image).
    let frames: [Float]
    let frameCount: Int
    let size: Int
    /// Video only: sampled indices, `round(idx / fps, 1)` and the prompt sentence (spec §4.1).
    let indices: [Int]
    let timestamps: [Double]
    let message: String?

    static let size = 224

    static func load(video: String?, image: String?, frames: Int, size: Int = size) throws -> EmbedInput {
        if let video {
            let sampled = try VideoFrameSampler(path: video, size: size, maxFrames: frames).sample()
            return EmbedInput(kind: .video, source: video, frames: sampled.normalizedTensor(), frameCount: sampled.frames.count,
                              size: size, indices: sampled.indices, timestamps: sampled.timestamps, message: sampled.message)
        }
        guard let image else { throw ValidationError("no input") }
        let picture = try StillImage.load(path: image, size: size)
        return EmbedInput(kind: .image, source: image, frames: CLIPNormalization.tensor([picture]), frameCount: 1,
                          size: size, indices: [0], timestamps: [], message: nil)
    }

    var metadata: [String: String] {
        var m = ["vlpack.embed.kind": kind.rawValue, "vlpack.embed.source": source,
                 "vlpack.embed.indices": indices.map(String.init).joined(separator: ",")]
        if let message { m["vlpack.embed.message"] = message }
        return m
    }
}

/// The tensors `embed` writes, in the order they were produced. Names are unique.
struct EmbedOutputs {
    private(set) var names: [String] = []
    private var writerTensors: [(name: String, shape: [Int], values: [Float])] = []

    /// Adds a float32 tensor (C order). Throws if the name repeats or the shape does not match.
    mutating func add(name: String, shape: [Int], values: [Float]) throws {
        guard !names.contains(name) else { throw SafetensorsWriteError.duplicateTensor(name: name) }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw SafetensorsWriteError.byteCountMismatch(tensor: name, expected: shape.reduce(1, *) * 4, written: values.count * 4)
        }
        names.append(name)
        writerTensors.append((name, shape, values))
    }

    /// Writes every tensor (little-endian float32) atomically to `path`.
    func write(to path: String, metadata: [String: String]) throws {
        var writer = SafetensorsWriter(path: path, metadata: metadata)
        for t in writerTensors {
            let values = t.values.map { $0.bitPattern.littleEndian }
            try writer.add(name: t.name, dtype: .f32, shape: t.shape) { write in
                try values.withUnsafeBytes { try write($0) }
            }
        }
        try writer.finish()
    }
}
