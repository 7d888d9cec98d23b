import CFFmpeg

/// Frames sampled from a video the way the official loader does (spec §4.1).
public struct SampledVideo: Sendable {
    /// The selected frames, RGB24 at the target size, in index order.
    public let frames: [RGBImage]
    /// The selected frame indices (`UniformSampling.indices`).
    public let indices: [Int]
    /// decord's `len(vr)`: the number of packets of the video stream.
    public let frameCount: Int
    /// The stream's `avg_frame_rate` (decord's `get_avg_fps()`); NaN when the container has none.
    public let averageFPS: Double
    /// `round(index / averageFPS, 1)` for each index.
    public let timestamps: [Double]
    /// The display rotation applied (0, 90, 180 or 270), as decord reads it.
    public let rotation: Int

    /// The prompt sentence for the video-only path.
    public var message: String { UniformSampling.message(timestamps: timestamps) }

    /// `input.frames`: `[T, 3, S, S]` float32, CLIP-normalized.
    public func normalizedTensor() -> [Float] { CLIPNormalization.tensor(frames) }
}

/// Decodes a video with libavformat/libavcodec and returns the frames Video-LLaMA's loader would
/// feed the model: decord `VideoReader(path, height: S, width: S)` + uniform sampling.
///
/// What decord does, and this reproduces:
/// - **Frame count**: decord indexes the file by reading every packet of the best video stream, so
///   `len(vr)` is the number of video packets, for constant and variable frame rate alike, and
///   whether or not the container stores `nb_frames` (Matroska/WebM do not). Frame i is the i-th
///   frame in presentation order, which is the decoder's output order.
/// - **Rotation**: `rotate` tag or display matrix (`FrameRotation.of`) → `transpose` before scaling.
/// - **Scaling**: one libswscale pass straight to S×S (aspect not kept, no crop), RGB24 output,
///   configured as FFmpeg 4.1's scale filter (`ScalerOptions.decord`).
///
/// Cost: two passes over the file — packets only (cheap), then decoding up to the last selected
/// frame (every frame before it is decoded, as in decord's sequential read); memory is the selected
/// RGB frames plus the decoder's reference frames.
public struct VideoFrameSampler: Sendable {
    public let path: String
    public var size: Int
    public var maxFrames: Int
    public var options: ScalerOptions

    public init(path: String, size: Int = 224, maxFrames: Int = 8, options: ScalerOptions = .decord) {
        self.path = path
        self.size = size
        self.maxFrames = maxFrames
        self.options = options
    }

    /// Samples with the official rule (`UniformSampling.indices(vlen:maxFrames:)`).
    public func sample() throws(MediaError) -> SampledVideo {
        guard maxFrames >= 1 else { throw .noFrames(path: path, detail: "asked for \(maxFrames) frames") }
        let (count, fps, rotation) = try probe()
        let indices = UniformSampling.indices(vlen: count, maxFrames: maxFrames)
        return try decode(indices: indices, frameCount: count, fps: fps, rotation: rotation)
    }

    /// Decodes exactly the frames at `indices` (sorted or not; each must be < the frame count).
    public func frames(at indices: [Int]) throws(MediaError) -> SampledVideo {
        let (count, fps, rotation) = try probe()
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw .noFrames(path: path, detail: "frame index \(bad) is outside 0..<\(count)")
        }
        return try decode(indices: indices, frameCount: count, fps: fps, rotation: rotation)
    }

    /// Pass 1: the packet count of the best video stream, its average frame rate and rotation.
    private func probe() throws(MediaError) -> (count: Int, fps: Double, rotation: FrameRotation) {
        let input = try MediaInput(path: path)
        let (index, stream, _) = try input.bestVideoStream()
        let rate = stream.pointee.avg_frame_rate
        let fps = Double(rate.num) / Double(rate.den)  // NaN for 0/0, as decord's C++ division
        let packet = Packet()
        var count = 0
        while try input.read(into: packet) { if packet.pointer.pointee.stream_index == index { count += 1 } }
        guard count > 0 else { throw .noFrames(path: path, detail: "the video stream has no packets") }
        return (count, fps, FrameRotation.of(stream))
    }

    /// Pass 2: decode in presentation order, converting the frames whose ordinal is selected.
    private func decode(indices: [Int], frameCount: Int, fps: Double, rotation: FrameRotation) throws(MediaError) -> SampledVideo {
        let input = try MediaInput(path: path)
        let (streamIndex, stream, codec) = try input.bestVideoStream()
        let decoder = try Decoder(path: path, stream: stream, codec: codec)
        let converter = try FrameConverter(path: path, width: size, height: size, options: options)
        let wanted = Set(indices)
        let last = indices.max() ?? -1
        var converted: [Int: RGBImage] = [:]
        var ordinal = 0
        let packet = Packet(), frame = Frame()

        func drain() throws(MediaError) {
            while ordinal <= last, try decoder.receive(into: frame) {
                if wanted.contains(ordinal) { converted[ordinal] = try converter.convert(frame.pointer, rotation: rotation) }
                ordinal += 1
                av_frame_unref(frame.pointer)
            }
        }
        while ordinal <= last, try input.read(into: packet) {
            guard packet.pointer.pointee.stream_index == streamIndex else { continue }
            try decoder.send(packet)
            try drain()
        }
        if ordinal <= last {
            try decoder.send(nil)
            try drain()
        }
        guard ordinal > last else {
            throw .noFrames(path: path, detail: "decoded \(ordinal) frames of \(frameCount); frame \(last) was selected")
        }
        return SampledVideo(
            frames: indices.map { converted[$0]! }, indices: indices, frameCount: frameCount,
            averageFPS: fps, timestamps: indices.map { UniformSampling.timestamp(index: $0, fps: fps) },
            rotation: rotation.rawValue)
    }
}
