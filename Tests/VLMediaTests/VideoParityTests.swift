import Testing
@testable import VLMedia

/// VLMedia's frames against decord's (the official loader), on the fixture clips.
@Suite struct VideoParityTests {
    func check(_ name: String, options: ScalerOptions = .decord) throws -> (SampledVideo, PixelDifference) {
        let ref = MediaFixtures.reference.videos[name]!
        let video = try VideoFrameSampler(path: MediaFixtures.path(name), options: options).sample()
        let diff = PixelDifference(video.frames, try MediaFixtures.decordFrames(name))
        print("[VLMedia] \(name) \(options): \(diff)")
        #expect(video.frameCount == ref.vlen)
        #expect(video.indices == ref.indices)
        #expect(video.averageFPS == ref.fps)
        #expect(video.message == ref.message)
        return (video, diff)
    }

    /// The two acceptance clips, plus an odd-sized (317×179, 4:4:4) one.
    @Test(arguments: ["hd709.mp4", "sd_untagged.mp4", "odd317x179.mp4"])
    func matchesDecord(_ name: String) throws {
        let (video, diff) = try check(name)
        #expect(video.frames.count == 8)
        #expect(diff.meanAbsolute <= MediaTolerance.meanAbsoluteLevels, "\(name): \(diff)")
        let tensor = video.normalizedTensor()
        #expect(tensor.count == 8 * 3 * 224 * 224)
    }

    /// The colour handling matters: a fixed BT.601 matrix on the BT.709-tagged HD clip is far outside
    /// the tolerance.
    @Test func forcedBT601FailsOnHD() throws {
        let (_, diff) = try check("hd709.mp4", options: ScalerOptions(colorMatrix: .bt601))
        #expect(diff.meanAbsolute > 4 * MediaTolerance.meanAbsoluteLevels, "\(diff)")
    }

    /// The interpolation matters: decord's bundled FFmpeg 4.1 scales with `bilinear` (the scale
    /// filter's default before FFmpeg 5.0); bicubic — today's default — misses the tolerance.
    @Test(arguments: ["hd709.mp4", "sd_untagged.mp4"])
    func bicubicFails(_ name: String) throws {
        let (_, diff) = try check(name, options: ScalerOptions(interpolation: .bicubic))
        #expect(diff.meanAbsolute > MediaTolerance.meanAbsoluteLevels, "\(name): \(diff)")
    }

    /// A 320×180 picture with a 90° display matrix: decord turns it (transpose=2) to portrait before
    /// scaling; ignoring the rotation is far off.
    @Test func rotatedClip() throws {
        let ref = MediaFixtures.reference.videos["rotated90.mp4"]!
        #expect(ref.native_hw == [320, 180])  // decord's own unscaled frame is portrait
        let (video, diff) = try check("rotated90.mp4")
        #expect(video.rotation == 270)
        #expect(diff.meanAbsolute <= MediaTolerance.meanAbsoluteLevels, "\(diff)")
        // Native-size decode keeps the portrait orientation.
        let native = try VideoFrameSampler(path: MediaFixtures.path("rotated90.mp4"), size: 224).frames(at: [0])
        #expect(native.frames.count == 1)
        // The same frames without the transpose are nowhere near.
        let decord = try MediaFixtures.decordFrames("rotated90.mp4")
        let unrotated = PixelDifference(try unrotatedFrames("rotated90.mp4", indices: ref.indices), decord)
        #expect(unrotated.meanAbsolute > 20 * MediaTolerance.meanAbsoluteLevels, "\(unrotated)")
    }

    /// Variable frame rate in Matroska (no stored frame count): decord's len() is the packet count
    /// and frame i is the i-th in presentation order.
    @Test func variableFrameRateMatroska() throws {
        let (video, diff) = try check("vfr.mkv")
        #expect(video.frameCount == 13)
        #expect(diff.meanAbsolute <= MediaTolerance.meanAbsoluteLevels, "\(diff)")
    }

    func unrotatedFrames(_ name: String, indices: [Int]) throws -> [RGBImage] {
        let input = try MediaInput(path: MediaFixtures.path(name))
        let (streamIndex, stream, codec) = try input.bestVideoStream()
        let decoder = try Decoder(path: name, stream: stream, codec: codec)
        let converter = try FrameConverter(path: name, width: 224, height: 224, options: .decord)
        var out: [RGBImage] = [], ordinal = 0
        let packet = Packet(), frame = Frame()
        while try input.read(into: packet) {
            guard packet.pointer.pointee.stream_index == streamIndex else { continue }
            try decoder.send(packet)
            while try decoder.receive(into: frame) {
                if indices.contains(ordinal) { out.append(try converter.convert(frame.pointer, rotation: .none)) }
                ordinal += 1
            }
        }
        try decoder.send(nil)
        while try decoder.receive(into: frame) {
            if indices.contains(ordinal) { out.append(try converter.convert(frame.pointer, rotation: .none)) }
            ordinal += 1
        }
        return out
    }
}

@Suite struct MediaErrorTests {
    func rule(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as MediaError { return e.rule } catch { return "\(error)" }
    }

    @Test func audioOnlyHasNoVideoStream() {
        let path = MediaFixtures.path("audio_only.m4a")
        #expect(rule { _ = try VideoFrameSampler(path: path).sample() } == "noVideoStream")
        #expect(rule { _ = try StillImage.load(path: path) } == "noVideoStream")
        do { _ = try VideoFrameSampler(path: path).sample() } catch { #expect("\(error)".contains("audio_only.m4a")) }
    }

    @Test func truncatedFileCannotOpen() {
        #expect(rule { _ = try VideoFrameSampler(path: MediaFixtures.path("truncated.mp4")).sample() } == "cannotOpen")
    }

    @Test func missingAndNonMediaFiles() {
        #expect(rule { _ = try VideoFrameSampler(path: "/nonexistent/clip.mp4").sample() } == "cannotOpen")
        #expect(rule { _ = try VideoFrameSampler(path: MediaFixtures.path("reference/reference.json")).sample() } == "cannotOpen")
        #expect(rule { _ = try VideoFrameSampler(path: MediaFixtures.path("hd709.mp4"), maxFrames: 0).sample() } == "noFrames")
        #expect(rule { _ = try VideoFrameSampler(path: MediaFixtures.path("hd709.mp4"), size: 0).sample() } == "invalidSize")
        #expect(rule { _ = try VideoFrameSampler(path: MediaFixtures.path("hd709.mp4")).frames(at: [50]) } == "noFrames")
    }
}
