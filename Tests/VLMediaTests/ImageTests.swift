import Foundation
import Testing
@testable import VLMedia

/// Still images against PIL + torchvision `Resize((224, 224), BICUBIC)`.
@Suite struct ImageTests {
    /// PILResize on PIL's own decode: the resampler alone, expected bit-exact.
    @Test(arguments: ["image.png", "image.jpg"])
    func resizeMatchesPillow(_ name: String) throws {
        let ref = MediaFixtures.reference.images[name]!
        let decoded = try MediaFixtures.png(ref.decoded)
        #expect([decoded.width, decoded.height] == ref.size)
        let diff = PixelDifference(PILResize.resize(decoded, width: 224, height: 224), try MediaFixtures.png(ref.resized))
        print("[VLMedia] PILResize \(name) (\(ref.size[0])x\(ref.size[1]) → 224): \(diff)")
        #expect(diff.maxAbsolute == 0, "\(diff)")
    }

    /// PNG decoding is lossless: the whole image path equals PIL's.
    @Test func pngEndToEnd() throws {
        let ref = MediaFixtures.reference.images["image.png"]!
        #expect(try StillImage.decode(path: MediaFixtures.path("image.png")) == (try MediaFixtures.png(ref.decoded)))
        let diff = PixelDifference(try StillImage.load(path: MediaFixtures.path("image.png")), try MediaFixtures.png(ref.resized))
        #expect(diff.maxAbsolute == 0, "\(diff)")
    }

    /// JPEG through libjpeg-turbo with Pillow's settings: the whole image path equals PIL's.
    @Test func jpegEndToEnd() throws {
        let ref = MediaFixtures.reference.images["image.jpg"]!
        let decodeDiff = PixelDifference(try StillImage.decode(path: MediaFixtures.path("image.jpg")), try MediaFixtures.png(ref.decoded))
        let diff = PixelDifference(try StillImage.load(path: MediaFixtures.path("image.jpg")), try MediaFixtures.png(ref.resized))
        print("[VLMedia] JPEG decode vs PIL: \(decodeDiff); after resize: \(diff)")
        #expect(diff.meanAbsolute <= MediaTolerance.meanAbsoluteLevels, "\(diff)")
    }

    /// Why JPEG does not go through libavcodec: its mjpeg decoder + libswscale misses PIL's decode
    /// by more than the tolerance on the 4:2:0 fixture.
    @Test func ffmpegJPEGDecodeIsNotPILs() throws {
        let ref = MediaFixtures.reference.images["image.jpg"]!
        let diff = PixelDifference(try StillImage.decodeWithFFmpeg(path: MediaFixtures.path("image.jpg")), try MediaFixtures.png(ref.decoded))
        print("[VLMedia] JPEG via libavcodec vs PIL: \(diff)")
        #expect(diff.meanAbsolute > MediaTolerance.meanAbsoluteLevels, "\(diff)")
    }

    @Test func corruptJPEG() throws {
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00]
        let path = NSTemporaryDirectory() + "vlmedia-corrupt-\(UInt64.random(in: 0...UInt64.max)).jpg"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try StillImage.load(path: path)
            Issue.record("corrupt JPEG decoded")
        } catch {
            #expect(error.rule == "decodeFailed")
            #expect("\(error)".contains(path))
        }
    }

    @Test func upscaleAndIdentity() {
        let tiny = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
        let up = PILResize.resize(tiny, width: 4, height: 1)
        #expect(up.width == 4 && up.pixels.count == 12)
        #expect(PILResize.resize(tiny, width: 2, height: 1) == tiny)
    }
}
