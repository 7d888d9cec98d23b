import Foundation
import Testing
@testable import VLMedia

/// The media fixtures (Fixtures/media, made by make_media.sh and make_reference.py).
enum MediaFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/media")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    struct VideoReference: Decodable {
        let vlen: Int
        let fps: Double
        let indices: [Int]
        let frames: String
        let native_hw: [Int]
        let message: String
    }
    struct ImageReference: Decodable {
        let size: [Int]
        let decoded: String
        let resized: String
    }
    struct SamplingCase: Decodable {
        let vlen: Int
        let n: Int
        let indices: [Int]
    }
    struct Reference: Decodable {
        let decord: String
        let videos: [String: VideoReference]
        let images: [String: ImageReference]
        let sampling: [SamplingCase]
    }

    static let reference: Reference = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("reference/reference.json"))
        return try! JSONDecoder().decode(Reference.self, from: data)
    }()

    /// A lossless reference PNG (decoded with VLMedia's own PNG path, which the image tests check
    /// against PIL's decode).
    static func png(_ name: String) throws -> RGBImage {
        try StillImage.decode(path: path("reference/" + name))
    }

    /// decord's frames for `video`: the stacked PNG cut into 224×224 pictures.
    static func decordFrames(_ video: String) throws -> [RGBImage] {
        let stacked = try png(reference.videos[video]!.frames)
        let rowBytes = stacked.width * 3, frameBytes = rowBytes * stacked.width
        return (0..<(stacked.height / stacked.width)).map { t in
            RGBImage(
                width: stacked.width, height: stacked.width,
                pixels: Array(stacked.pixels[(t * frameBytes)..<((t + 1) * frameBytes)]))
        }
    }
}

/// How close VLMedia's frames must come to the reference's (decord, Pillow): the preprocessing acceptance rule.
enum MediaTolerance {
    /// Mean absolute difference, in 8-bit levels, allowed between VLMedia's frames and decord's.
    static let meanAbsoluteLevels = 0.5
}
