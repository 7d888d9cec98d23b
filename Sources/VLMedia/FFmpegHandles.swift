import CFFmpeg

// Owners of FFmpeg objects. Each wraps exactly one pointer, frees it in `deinit`, and never lets
// it escape except through `withUnsafe…`-style accessors used inside this module. These are the
// only places VLMedia calls FFmpeg's allocation and free functions. Not `Sendable`: one decode
// runs on one thread, start to finish.

/// An opened input (`AVFormatContext`), probed for streams. Cost: `avformat_find_stream_info`
/// may decode a few frames of each stream.
final class MediaInput {
    let path: String
    let context: UnsafeMutablePointer<AVFormatContext>

    init(path: String) throws(MediaError) {
        _ = quietFFmpegLog
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let opened = avformat_open_input(&ctx, path, nil, nil)
        guard opened >= 0, let ctx else { throw .cannotOpen(path: path, reason: ffmpegErrorString(opened)) }
        context = ctx
        self.path = path
        let probed = avformat_find_stream_info(ctx, nil)
        guard probed >= 0 else { throw .cannotOpen(path: path, reason: ffmpegErrorString(probed)) }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    /// The stream libavformat ranks best for video (as decord and ffmpeg pick it), with its decoder.
    func bestVideoStream() throws(MediaError) -> (index: Int32, stream: UnsafeMutablePointer<AVStream>, decoder: UnsafePointer<AVCodec>) {
        guard let best = try bestStream(AVMEDIA_TYPE_VIDEO) else { throw .noVideoStream(path: path) }
        return best
    }

    /// The stream libavformat ranks best for audio (`av_find_best_stream`, as torchaudio's ffmpeg
    /// path and the ffmpeg CLI pick it), with its decoder.
    func bestAudioStream() throws(MediaError) -> (index: Int32, stream: UnsafeMutablePointer<AVStream>, decoder: UnsafePointer<AVCodec>) {
        guard let best = try bestStream(AVMEDIA_TYPE_AUDIO) else { throw .noAudioStream(path: path) }
        return best
    }

    /// `nil` when the file has no stream of `type`; `.unsupportedCodec` when it has one this build
    /// cannot decode (AVERROR_DECODER_NOT_FOUND).
    private func bestStream(_ type: AVMediaType) throws(MediaError) -> (index: Int32, stream: UnsafeMutablePointer<AVStream>, decoder: UnsafePointer<AVCodec>)?
    {
        var decoder: UnsafePointer<AVCodec>? = nil
        let found = av_find_best_stream(context, type, -1, -1, &decoder, 0)
        if found >= 0, let stream = context.pointee.streams[Int(found)], let decoder {
            return (found, stream, decoder)
        }
        if found == vlff_averror_decoder_not_found(), let i = firstStreamIndex(type), let stream = context.pointee.streams[Int(i)] {
            let name = avcodec_get_name(stream.pointee.codecpar.pointee.codec_id).map { String(cString: $0) } ?? "?"
            throw .unsupportedCodec(path: path, codec: name)
        }
        return nil
    }

    private func firstStreamIndex(_ type: AVMediaType) -> Int32? {
        for i in 0..<Int(context.pointee.nb_streams) where context.pointee.streams[i]?.pointee.codecpar.pointee.codec_type == type {
            return Int32(i)
        }
        return nil
    }

    /// Reads the next packet into `packet` (unreferencing what it held). Returns false at end of file.
    func read(into packet: Packet) throws(MediaError) -> Bool {
        av_packet_unref(packet.pointer)
        let r = av_read_frame(context, packet.pointer)
        if r == vlff_averror_eof() { return false }
        guard r >= 0 else { throw .decodeFailed(path: path, reason: "reading packets: \(ffmpegErrorString(r))") }
        return true
    }
}

/// FFmpeg logs to stderr by default; every failure VLMedia cares about becomes a `MediaError`
/// naming the file, so only fatal messages are let through. Set once, on first use (a lazily
/// initialized global, so it is thread-safe).
private let quietFFmpegLog: Void = av_log_set_level(AV_LOG_FATAL)

/// An `AVPacket`.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>
    init() {
        guard let p = av_packet_alloc() else { fatalError("av_packet_alloc: out of memory") }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }
}

/// An `AVFrame`.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>
    init() {
        guard let p = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&p)
    }
}

/// An opened decoder (`AVCodecContext`) for one stream. Frames come out in presentation order.
final class Decoder {
    let path: String
    let context: UnsafeMutablePointer<AVCodecContext>

    /// `threads`: decoder threads (0 = FFmpeg's choice). Output does not depend on it.
    init(path: String, stream: UnsafeMutablePointer<AVStream>, codec: UnsafePointer<AVCodec>, threads: Int32 = 0) throws(MediaError) {
        self.path = path
        guard let ctx = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        context = ctx
        var r = avcodec_parameters_to_context(ctx, stream.pointee.codecpar)
        guard r >= 0 else { throw .decodeFailed(path: path, reason: "codec parameters: \(ffmpegErrorString(r))") }
        ctx.pointee.thread_count = threads
        ctx.pointee.time_base = stream.pointee.time_base
        r = avcodec_open2(ctx, codec, nil)
        guard r >= 0 else { throw .decodeFailed(path: path, reason: "opening decoder: \(ffmpegErrorString(r))") }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }

    /// Sends one packet (nil: end of stream, flushes the decoder).
    func send(_ packet: Packet?) throws(MediaError) {
        let r = avcodec_send_packet(context, packet?.pointer)
        guard r >= 0 || r == vlff_averror_eof() else { throw .decodeFailed(path: path, reason: ffmpegErrorString(r)) }
    }

    /// Receives the next decoded frame into `frame`; false when the decoder needs more input or is drained.
    func receive(into frame: Frame) throws(MediaError) -> Bool {
        let r = avcodec_receive_frame(context, frame.pointer)
        if r == vlff_averror_eagain() || r == vlff_averror_eof() { return false }
        guard r >= 0 else { throw .decodeFailed(path: path, reason: ffmpegErrorString(r)) }
        return true
    }
}

/// A `SwsContext` (libswscale converter) configured through AVOptions, as libavfilter's scale
/// filter configures its own.
final class ScaleContext {
    let pointer: OpaquePointer

    init?(options: [(String, Int64)]) {
        guard let ctx = sws_alloc_context() else { return nil }
        pointer = ctx
        for (name, value) in options {
            guard av_opt_set_int(UnsafeMutableRawPointer(ctx), name, value, 0) >= 0 else { return nil }
        }
        guard sws_init_context(ctx, nil, nil) >= 0 else { return nil }
    }

    deinit { sws_freeContext(pointer) }
}

/// The first four data planes and line sizes of a frame, in the form `sws_scale` takes.
func planesAndStrides(_ f: AVFrame) -> (planes: [UnsafePointer<UInt8>?], strides: [Int32]) {
    let data = [f.data.0, f.data.1, f.data.2, f.data.3]
    return (data.map { $0.map { UnsafePointer($0) } }, [f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3])
}

/// A libswresample context that converts one sample format and channel layout to planar float at
/// the **same** rate (no resampling: libswresample only reformats, with the exact scalings
/// `s16 / 32768`, `s32 / 2³¹`, `(u8 − 128) / 128`, `(float)dbl`, as libavfilter's `aformat` — and so
/// torchaudio's ffmpeg path — applies them).
final class SampleFormatConverter {
    let pointer: OpaquePointer
    let format: Int32
    let channels: Int32
    let sampleRate: Int32

    /// Configured from a decoded frame; `nil` if libswresample refuses.
    init?(frame: UnsafePointer<AVFrame>) {
        var ctx: OpaquePointer? = nil
        var layout = AVChannelLayout()
        defer { av_channel_layout_uninit(&layout) }
        if frame.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&layout, frame.pointee.ch_layout.nb_channels)
        } else {
            guard withUnsafePointer(to: frame.pointee.ch_layout, { av_channel_layout_copy(&layout, $0) }) >= 0 else { return nil }
        }
        let rate = frame.pointee.sample_rate
        let inFormat = AVSampleFormat(rawValue: frame.pointee.format)
        let r = withUnsafeMutablePointer(to: &layout) { l in swr_alloc_set_opts2(&ctx, l, AV_SAMPLE_FMT_FLTP, rate, l, inFormat, rate, 0, nil) }
        guard r >= 0, let ctx else { return nil }
        pointer = ctx
        format = frame.pointee.format
        channels = frame.pointee.ch_layout.nb_channels
        sampleRate = rate
        guard swr_init(ctx) >= 0 else { return nil }
    }

    deinit {
        var p: OpaquePointer? = pointer
        swr_free(&p)
    }
}

/// An `av_tx` forward real-to-complex DFT (`AV_TX_FLOAT_RDFT`, unscaled) of `length` floats, with
/// its own aligned input and output buffers (`length` reals in, `length/2 + 1` complex out). One per
/// thread: the transform uses scratch space inside the context.
final class RealFFT {
    let length: Int
    let context: OpaquePointer
    let transform: av_tx_fn
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<AVComplexFloat>

    init(length: Int) {
        self.length = length
        var ctx: OpaquePointer? = nil
        var fn: av_tx_fn? = nil
        var scale: Float = 1
        let r = av_tx_init(&ctx, &fn, AV_TX_FLOAT_RDFT, 0, Int32(length), &scale, 0)
        guard r >= 0, let ctx, let fn else { fatalError("av_tx_init(RDFT, \(length)): \(ffmpegErrorString(r))") }
        context = ctx
        transform = fn
        guard let i = av_malloc(length * MemoryLayout<Float>.stride), let o = av_malloc((length / 2 + 1) * MemoryLayout<AVComplexFloat>.stride)
        else { fatalError("av_malloc: out of memory") }
        input = i.bindMemory(to: Float.self, capacity: length)
        output = o.bindMemory(to: AVComplexFloat.self, capacity: length / 2 + 1)
    }

    /// Transforms `input` into `output`.
    func run() { transform(context, output, input, MemoryLayout<Float>.stride) }

    deinit {
        var ctx: OpaquePointer? = context
        av_tx_uninit(&ctx)
        av_free(input)
        av_free(output)
    }
}
