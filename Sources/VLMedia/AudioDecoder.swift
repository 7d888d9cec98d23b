import CFFmpeg
import Foundation
import VLCore

/// Decodes the best audio stream of a file (any container and codec this FFmpeg decodes: WAV,
/// FLAC, MP3, AAC/M4A/MP4, Ogg/Opus, Matroska, …) the way the official loader's `torchaudio.load`
/// does on its ffmpeg path (torchaudio 0.12.1, spec §4.3): `av_find_best_stream`, every frame the
/// decoder returns (so encoder priming the container marks is skipped by libavcodec, but AAC end
/// padding is kept — §7b), converted to planar float with libswresample at the same rate (format only;
/// the scalings are torchaudio's), channels kept.
///
/// Cost: one pass over the file. Memory: `decode()` holds the native-rate waveform
/// (`C · N · 4` bytes); `decode(resamplingTo:)` resamples while decoding, holding only the
/// target-rate waveform plus a chunk of native samples per channel (a 10-minute 48 kHz stereo file:
/// ~77 MB of 16 kHz output instead of 230 MB of 48 kHz input).
public struct AudioDecoder: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The waveform at the stream's own rate.
    public func decode() throws(MediaError) -> DecodedAudio {
        var channels: [[Float]] = []
        let (rate, count) = try decodeBlocks { (planes: [UnsafeBufferPointer<Float>], _: Int) throws(MediaError) in
            if channels.isEmpty { channels = Array(repeating: [], count: planes.count) }
            for c in 0..<planes.count { channels[c].append(contentsOf: planes[c]) }
        }
        return try assemble(consume channels, rate: rate, source: rate, count: count)
    }

    /// The waveform at `rate` Hz: `Resampler` (torchaudio's resample) applied per channel as the
    /// samples are decoded, or the native samples when the stream is already at `rate`.
    public func decode(resamplingTo rate: Int) throws(MediaError) -> DecodedAudio {
        var streams: [StreamingResampler] = []
        var expectedSamples: Int? = nil
        var pending: [[Float]] = []
        // Hand decoded samples to the resamplers in chunks, one channel per worker.
        func flush() {
            let n = streams.count
            if n == 1 {
                pending[0].withUnsafeBufferPointer { streams[0].push($0) }
            } else {
                streams.withUnsafeMutableBufferPointer { s in
                    let shared = SharedPointer(s)
                    pending.withUnsafeBufferPointer { p in
                        let input = SharedPointer(p)
                        DispatchQueue.concurrentPerform(iterations: n) { c in
                            input.pointer[c].withUnsafeBufferPointer { shared.pointer[c].push($0) }
                        }
                    }
                }
            }
            for c in 0..<n { pending[c].removeAll(keepingCapacity: true) }
        }
        let (source, _) = try decodeBlocks(expected: { expectedSamples = $0 }) { (planes: [UnsafeBufferPointer<Float>], sourceRate: Int) throws(MediaError) in
            if streams.isEmpty {
                let resampler = try Resampler(from: sourceRate, to: rate, path: path)
                // One stream each (not copies of one: a copy would share, then drop, the reservation).
                streams = (0..<planes.count).map { _ in
                    var stream = StreamingResampler(resampler)
                    if let expected = expectedSamples { stream.reserveOutput(forInput: expected) }
                    return stream
                }
                pending = Array(repeating: [], count: planes.count)
            }
            for c in 0..<planes.count { pending[c].append(contentsOf: planes[c]) }
            if pending[0].count >= Self.chunk { flush() }
        }
        flush()
        var channels: [[Float]] = []
        channels.reserveCapacity(streams.count)
        for c in 0..<streams.count { channels.append(streams[c].finish()) }
        let count = channels.first?.count ?? 0
        return try assemble(consume channels, rate: rate, source: source, count: count)
    }

    /// Native samples per channel gathered before the resamplers run (a few hundred KB).
    static let chunk = 1 << 16

    /// Concatenates the channels into `[C, N]`, releasing each channel once copied (peak: the result
    /// plus one channel).
    private func assemble(_ channels: consuming [[Float]], rate: Int, source: Int, count: Int) throws(MediaError) -> DecodedAudio {
        guard count > 0, !channels.isEmpty else { throw .noAudioSamples(path: path) }
        guard let total = Checked.multiply(count, channels.count) else { throw .lengthOverflow(path: path, what: "the sample count") }
        var samples: [Float] = []
        samples.reserveCapacity(total)
        let channelCount = channels.count
        for c in 0..<channelCount {
            samples.append(contentsOf: channels[c])
            channels[c] = []
        }
        return DecodedAudio(sampleRate: rate, sourceSampleRate: source, channelCount: channelCount, frameCount: count, samples: samples)
    }

    /// The container's estimate of the samples per channel (duration × rate), used only to size
    /// buffers; `nil` when it has none or it is implausible.
    private static func expectedSampleCount(_ input: MediaInput, _ stream: UnsafeMutablePointer<AVStream>) -> Int? {
        let tb = stream.pointee.time_base, rate = Double(stream.pointee.codecpar.pointee.sample_rate)
        var seconds = 0.0
        if stream.pointee.duration > 0, tb.den > 0 {
            seconds = Double(stream.pointee.duration) * Double(tb.num) / Double(tb.den)
        } else if input.context.pointee.duration > 0 {
            seconds = Double(input.context.pointee.duration) / Double(AV_TIME_BASE)
        }
        let estimate = seconds * rate
        guard estimate.isFinite, estimate > 0, estimate < 1e10 else { return nil }
        return Int(estimate) + 8192
    }

    /// Runs `body` on every decoded frame's samples as planar float (one buffer per channel, valid
    /// only during the call) and the stream's rate. Returns the rate and samples per channel.
    /// `expected` first receives the container's estimate of the samples per channel, if any.
    func decodeBlocks(
        expected: (Int?) -> Void = { _ in }, _ body: ([UnsafeBufferPointer<Float>], Int) throws(MediaError) -> Void
    ) throws(MediaError) -> (rate: Int, count: Int) {
        let input = try MediaInput(path: path)
        let (streamIndex, stream, codec) = try input.bestAudioStream()
        expected(Self.expectedSampleCount(input, stream))
        let decoder = try Decoder(path: path, stream: stream, codec: codec)
        let packet = Packet(), frame = Frame()
        var converter: SampleFormatConverter? = nil
        var scratch: PlanarScratch? = nil
        var rate = 0, channels = 0, total = 0

        func handle() throws(MediaError) {
            while try decoder.receive(into: frame) {
                defer { av_frame_unref(frame.pointer) }
                let f = frame.pointer.pointee
                let n = Int(f.nb_samples)
                guard n > 0 else { continue }
                let frameRate = Int(f.sample_rate), frameChannels = Int(f.ch_layout.nb_channels)
                guard frameRate > 0, frameChannels > 0, frameChannels <= 64 else {
                    throw .audioParametersChanged(
                        path: path, expected: "a positive rate and 1–64 channels", found: "\(frameRate) Hz, \(frameChannels) channels")
                }
                if rate == 0 {
                    (rate, channels) = (frameRate, frameChannels)
                } else if (frameRate, frameChannels) != (rate, channels) {
                    throw .audioParametersChanged(path: path, expected: "\(rate) Hz, \(channels) channels", found: "\(frameRate) Hz, \(frameChannels) channels")
                }
                guard let sum = Checked.add(total, n) else { throw .lengthOverflow(path: path, what: "the sample count") }
                total = sum
                try body(try planes(frame.pointer, count: n, channels: channels, converter: &converter, scratch: &scratch), rate)
            }
        }
        while try input.read(into: packet) {
            guard packet.pointer.pointee.stream_index == streamIndex else { continue }
            try decoder.send(packet)
            try handle()
        }
        try decoder.send(nil)
        try handle()
        guard total > 0 else { throw .noAudioSamples(path: path) }
        return (rate, total)
    }

    /// The frame's samples as planar float: the decoder's own planes for `fltp`, else converted into
    /// `scratch` by libswresample (format only, same rate).
    private func planes(
        _ frame: UnsafeMutablePointer<AVFrame>, count n: Int, channels: Int, converter: inout SampleFormatConverter?, scratch: inout PlanarScratch?
    ) throws(MediaError) -> [UnsafeBufferPointer<Float>] {
        let format = frame.pointee.format
        guard let data = frame.pointee.extended_data else { throw .decodeFailed(path: path, reason: "a decoded frame has no data") }
        if format == AV_SAMPLE_FMT_FLTP.rawValue {
            var out: [UnsafeBufferPointer<Float>] = []
            for c in 0..<channels {
                guard let plane = data[c] else { throw .decodeFailed(path: path, reason: "a decoded frame lacks channel \(c)") }
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(plane).assumingMemoryBound(to: Float.self), count: n))
            }
            return out
        }
        guard Self.convertible.contains(format) else {
            throw .unsupportedSampleFormat(path: path, format: sampleFormatName(format))
        }
        if converter == nil || converter?.format != format {
            guard let c = SampleFormatConverter(frame: frame) else {
                throw .sampleConverterFailed(path: path, reason: "cannot convert \(sampleFormatName(format)) to fltp")
            }
            converter = c
        }
        guard let converter else { throw .sampleConverterFailed(path: path, reason: "no converter") }
        if scratch == nil || scratch?.channels != channels || (scratch?.capacity ?? 0) < n {
            scratch = PlanarScratch(channels: channels, capacity: max(n, 4096))
        }
        guard let scratch else { throw .sampleConverterFailed(path: path, reason: "no scratch buffer") }
        let input = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
        let converted = swr_convert(converter.pointer, scratch.planes, Int32(n), input, Int32(n))
        guard converted == Int32(n) else {
            throw .sampleConverterFailed(path: path, reason: converted < 0 ? ffmpegErrorString(converted) : "converted \(converted) of \(n) samples")
        }
        return (0..<channels).map { UnsafeBufferPointer(start: scratch.plane($0), count: n) }
    }

    /// Formats libswresample converts exactly (integers by a power of two, doubles by rounding).
    static let convertible: Set<Int32> = Set(
        [
            AV_SAMPLE_FMT_U8, AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S64, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_DBL,
            AV_SAMPLE_FMT_U8P, AV_SAMPLE_FMT_S16P, AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_S64P, AV_SAMPLE_FMT_DBLP,
        ].map(\.rawValue))
}

/// Planar float buffers for converted frames: `channels` planes of `capacity` floats, owned, with
/// the plane pointer array libswresample writes through.
private final class PlanarScratch {
    let channels: Int
    let capacity: Int
    let storage: UnsafeMutablePointer<Float>
    let planes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>

    init(channels: Int, capacity: Int) {
        self.channels = channels
        self.capacity = capacity
        storage = .allocate(capacity: channels * capacity)
        planes = .allocate(capacity: channels)
        for c in 0..<channels { planes[c] = UnsafeMutableRawPointer(storage + c * capacity).assumingMemoryBound(to: UInt8.self) }
    }

    func plane(_ c: Int) -> UnsafePointer<Float> { UnsafePointer(storage + c * capacity) }

    deinit {
        storage.deallocate()
        planes.deallocate()
    }
}
