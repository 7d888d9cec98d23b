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
        }
    }
}

/// FFmpeg's message for an error code (`av_strerror`).
func ffmpegErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    av_strerror(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// FFmpeg's name for a pixel format, or its number.
func pixelFormatName(_ format: Int32) -> String {
    if let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: format)) { return String(cString: name) }
    return "#\(format)"
}
