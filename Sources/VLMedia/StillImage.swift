import CFFmpeg
import CVLJpeg
import VLCore

/// Still images (PNG, JPEG, ... whatever libavformat's image demuxers probe) for the image path
/// (spec §4.2): decoded to RGB24 at native size, then resized like PIL (`PILResize`).
///
/// JPEG files (sniffed by their `FF D8 FF` start) go through libjpeg-turbo with Pillow's settings
/// (slow integer DCT, fancy upsampling), so they decode as PIL decodes them; FFmpeg's mjpeg decoder
/// + libswscale differ by ~1.5 levels on average (IDCT rounding, chroma upsampling — measured in
/// the tests). Everything else (PNG, BMP, ...) goes through libavcodec; PNG is lossless, so it
/// matches PIL's decode exactly.
public enum StillImage {
    /// Largest picture decoded (pixels); a bound on memory for hostile headers.
    public static let maxPixels = 1 << 28

    /// The first picture of `path` as RGB24 at its own size. Alpha is dropped, as PIL's
    /// `convert("RGB")` does.
    public static func decode(path: String) throws(MediaError) -> RGBImage {
        if let jpeg = try jpegBytes(path: path) { return try decodeJPEG(jpeg, path: path) }
        return try decodeWithFFmpeg(path: path)
    }

    /// The mapped file when it starts with the JPEG SOI marker and a marker byte.
    static func jpegBytes(path: String) throws(MediaError) -> MappedFile? {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .cannotOpen(path: path, reason: "\(error)") }
        let b = file.bytes
        return b.count >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? file : nil
    }

    /// libjpeg-turbo decode (see `vl_jpeg_decode_rgb`). Cost: one pass, one RGB buffer.
    static func decodeJPEG(_ file: MappedFile, path: String) throws(MediaError) -> RGBImage {
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = vl_jpeg_decode_rgb(
            file.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), file.count, maxPixels,
            &pixels, &width, &height, &message, message.count)
        let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard status == 0, let pixels else {
            switch status {
            case 2: throw .unsupportedPixelFormat(path: path, format: "cmyk (JPEG)")
            case 3: throw .invalidSize(path: path, width: Int(width), height: Int(height))
            default: throw .decodeFailed(path: path, reason: "JPEG: \(reason)")
            }
        }
        defer { vl_jpeg_free(pixels) }
        let count = Int(width) * Int(height) * 3
        return RGBImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }

    /// libavformat/libavcodec decode of the first picture, converted to RGB24 at native size.
    static func decodeWithFFmpeg(path: String) throws(MediaError) -> RGBImage {
        let input = try MediaInput(path: path)
        let (streamIndex, stream, codec) = try input.bestVideoStream()
        let decoder = try Decoder(path: path, stream: stream, codec: codec)
        let packet = Packet(), frame = Frame()
        var got = false
        while !got, try input.read(into: packet) {
            guard packet.pointer.pointee.stream_index == streamIndex else { continue }
            try decoder.send(packet)
            got = try decoder.receive(into: frame)
        }
        if !got {
            try decoder.send(nil)
            got = try decoder.receive(into: frame)
        }
        guard got else { throw .noFrames(path: path, detail: "no picture could be decoded") }
        let f = frame.pointer.pointee
        guard f.width > 0, f.height > 0, f.width <= 32768, f.height <= 32768 else {
            throw .invalidSize(path: path, width: Int(f.width), height: Int(f.height))
        }
        // Same size, so the only work is the colour conversion: full chroma interpolation and
        // accurate rounding bring YCbCr JPEGs closest to libjpeg; RGB inputs are copied exactly.
        let opts: [(String, Int64)] = [
            ("srcw", Int64(f.width)), ("srch", Int64(f.height)), ("src_format", Int64(f.format)),
            ("dstw", Int64(f.width)), ("dsth", Int64(f.height)), ("dst_format", Int64(AV_PIX_FMT_RGB24.rawValue)),
            ("sws_flags", Int64(SWS_BICUBIC | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP | SWS_ACCURATE_RND)),
        ]
        guard sws_isSupportedInput(AVPixelFormat(rawValue: f.format)) > 0, let ctx = ScaleContext(options: opts) else {
            throw .unsupportedPixelFormat(path: path, format: pixelFormatName(f.format))
        }
        let width = Int(f.width), height = Int(f.height)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let (src, strides) = planesAndStrides(f)
        let rows = pixels.withUnsafeMutableBufferPointer { out -> Int32 in
            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            return sws_scale(ctx.pointer, src, strides, 0, f.height, &dst, [Int32(width * 3), 0, 0, 0])
        }
        guard rows == f.height else { throw .scalerFailed(path: path, reason: "converted \(rows) of \(f.height) rows") }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The official image preprocessing up to uint8: decode, then PIL bicubic resize to size×size.
    public static func load(path: String, size: Int = 224) throws(MediaError) -> RGBImage {
        guard size > 0, size <= 16384 else { throw .invalidSize(path: path, width: size, height: size) }
        return PILResize.resize(try decode(path: path), width: size, height: size)
    }
}
