import CFFmpeg
import VLCore

/// Why a video or image could not be turned into model input. Every case names the file, so the
/// CLI's one-line report (`rule: detail`) is complete on its own.
public enum MediaError: RuleError, Equatable {
    /// libavformat could not open or probe the file (missing, unreadable, not a media container).
    case cannotOpen(path: String, reason: String)
    /// The container has no video stream (e.g. an audio-only file), or no decodable image.
    case noVideoStream(path: String)
    /// No decoder for the stream's codec in this FFmpeg build.
    case unsupportedCodec(path: String, codec: String)
    /// The stream has no frames (zero packets), or decoding stopped before a sampled frame.
    case noFrames(path: String, detail: String)
    /// The decoder or the demuxer reported an error (corrupt or truncated data).
    case decodeFailed(path: String, reason: String)
    /// A decoded pixel format the converter cannot handle (e.g. hardware or bitstream formats,
    /// or a non-planar format on a rotated stream).
    case unsupportedPixelFormat(path: String, format: String)
    /// Frame or target dimensions that are zero, negative or absurdly large.
    case invalidSize(path: String, width: Int, height: Int)
    /// libswscale refused the conversion.
    case scalerFailed(path: String, reason: String)
    /// The container has no audio stream (e.g. a silent video).
    case noAudioStream(path: String)
    /// The audio stream decoded to zero samples.
    case noAudioSamples(path: String)
    /// A decoded sample format VLMedia does not convert (anything but u8, s16, s32, s64, flt, dbl and
    /// their planar forms).
    case unsupportedSampleFormat(path: String, format: String)
    /// The sample rate or channel count changed between decoded frames (or was not positive).
    case audioParametersChanged(path: String, expected: String, found: String)
    /// libswresample refused the sample-format conversion.
    case sampleConverterFailed(path: String, reason: String)
    /// A sample count or time computed from the file does not fit in 64-bit arithmetic.
    case lengthOverflow(path: String, what: String)
    /// A clip is shorter than one fbank window, so it has no frames (the official loader fails
    /// with a division by zero there).
    case audioTooShort(path: String, samples: Int, minimum: Int)
    /// A sample rate VLMedia cannot resample from or to (not positive, or a reduced rate ratio whose
    /// polyphase kernel would be gigabytes).
    case unsupportedSampleRate(path: String, rate: Int, detail: String)
    /// A `MelSettings` value out of its range (not tied to a file).
    case invalidAudioSettings(name: String, value: String)

    public var detail: String {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open as media: \(reason)"
        case let .noVideoStream(path): "\(path): the file has no video stream"
        case let .unsupportedCodec(path, codec): "\(path): no decoder for codec '\(codec)'"
        case let .noFrames(path, detail): "\(path): \(detail)"
        case let .decodeFailed(path, reason): "\(path): decoding failed: \(reason)"
        case let .unsupportedPixelFormat(path, format): "\(path): unsupported pixel format '\(format)'"
        case let .invalidSize(path, w, h): "\(path): invalid frame size \(w)x\(h)"
        case let .scalerFailed(path, reason): "\(path): libswscale: \(reason)"
        case let .noAudioStream(path): "\(path): the file has no audio stream"
        case let .noAudioSamples(path): "\(path): the audio stream decoded to no samples"
        case let .unsupportedSampleFormat(path, format): "\(path): unsupported audio sample format '\(format)'"
        case let .audioParametersChanged(path, expected, found): "\(path): audio changed from \(expected) to \(found) mid-stream"
        case let .sampleConverterFailed(path, reason): "\(path): libswresample: \(reason)"
        case let .lengthOverflow(path, what): "\(path): \(what) does not fit in 64 bits"
        case let .audioTooShort(path, samples, minimum): "\(path): an audio clip of \(samples) samples is shorter than one \(minimum)-sample fbank window"
        case let .unsupportedSampleRate(path, rate, detail): "\(path): sample rate \(rate) Hz: \(detail)"
        case let .invalidAudioSettings(name, value): "audio settings: \(name) = \(value) is out of range"
        }
    }
}

/// FFmpeg's message for an error code (`av_strerror`).
func ffmpegErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    av_strerror(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// FFmpeg's name for a sample format, or its number.
func sampleFormatName(_ format: Int32) -> String {
    if let name = av_get_sample_fmt_name(AVSampleFormat(rawValue: format)) { return String(cString: name) }
    return "#\(format)"
}

/// FFmpeg's name for a pixel format, or its number.
func pixelFormatName(_ format: Int32) -> String {
    if let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: format)) { return String(cString: name) }
    return "#\(format)"
}
