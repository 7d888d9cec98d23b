import VLCore
import VLMedia

/// Preprocessed model input: what `input.frames` holds, plus what the prompt needs (spec §4.1, §4.2).
public struct MediaInput: Sendable {
    public enum Kind: String, Sendable { case video, image }
    public let kind: Kind
    public let source: String
    /// `[T, 3, size, size]` float32, CLIP-normalized (T = 1 for an image).
    public let frames: [Float]
    public let frameCount: Int
    public let size: Int
    /// Video only: sampled indices, `round(idx / fps, 1)` and the prompt sentence (spec §4.1).
    public let indices: [Int]
    public let timestamps: [Double]
    public let message: String?

    /// EVA ViT-g's input size, for models that do not record one.
    public static let defaultSize = 224

    /// Samples `frames` frames of a video as the official loader does, resized to `size` and normalized.
    public static func video(_ path: String, frames: Int, size: Int = defaultSize) throws -> MediaInput {
        let sampled = try VideoFrameSampler(path: path, size: size, maxFrames: frames).sample()
        return MediaInput(
            kind: .video, source: path, frames: sampled.normalizedTensor(), frameCount: sampled.frames.count,
            size: size, indices: sampled.indices, timestamps: sampled.timestamps, message: sampled.message)
    }

    /// A still image as the official image processor prepares it (PIL bicubic, CLIP normalization).
    public static func image(_ path: String, size: Int = defaultSize) throws -> MediaInput {
        let picture = try StillImage.load(path: path, size: size)
        return MediaInput(
            kind: .image, source: path, frames: CLIPNormalization.tensor([picture]), frameCount: 1,
            size: size, indices: [0], timestamps: [], message: nil)
    }

    /// What `vlpack embed` records in its output's `__metadata__`.
    public var metadata: [String: String] {
        var m = [
            "vlpack.embed.kind": kind.rawValue, "vlpack.embed.source": source,
            "vlpack.embed.indices": indices.map(String.init).joined(separator: ","),
        ]
        if let message { m["vlpack.embed.message"] = message }
        return m
    }
}
