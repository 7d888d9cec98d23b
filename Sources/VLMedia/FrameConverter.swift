import CFFmpeg

/// How decoded frames are scaled and converted to RGB24. `.decord` reproduces what decord 0.6.0
/// does through its filter graph (`[transpose,]scale=W:H` → RGB24 buffersink) with the FFmpeg 4.1
/// it bundles: the scale filter's default flags there are **`bilinear`** (FFmpeg ≤ 4.4's
/// `vf_scale` default; 5.0 changed it to bicubic), and its default `in_color_matrix=auto` takes
/// the YCbCr matrix from each frame's colorspace tag. Measured on the fixtures: `.decord` matches
/// decord's frames exactly; bicubic or a forced BT.601 matrix does not (see VLMediaTests).
public struct ScalerOptions: Sendable, Equatable {
    public enum Interpolation: Sendable, Equatable {
        case bilinear, bicubic
        var swsFlags: Int64 { self == .bilinear ? Int64(SWS_BILINEAR) : Int64(SWS_BICUBIC) }
    }
    public enum ColorMatrix: Sendable, Equatable {
        /// The frame's colorspace tag (unspecified → BT.601), as `in_color_matrix=auto`.
        case fromFrame
        /// Always BT.601, whatever the tag says (a common bug; kept for the counter-example tests).
        case bt601
    }

    public var interpolation: Interpolation
    public var colorMatrix: ColorMatrix

    public init(interpolation: Interpolation = .bilinear, colorMatrix: ColorMatrix = .fromFrame) {
        self.interpolation = interpolation
        self.colorMatrix = colorMatrix
    }

    /// decord's behaviour (the official loader's).
    public static let decord = ScalerOptions()
}

extension ScalerOptions: CustomStringConvertible {
    public var description: String { "\(interpolation), colour matrix \(colorMatrix == .fromFrame ? "from frame tag" : "forced BT.601")" }
}

/// A rotation applied before scaling, as decord's `transpose` filters.
enum FrameRotation: Int, Sendable {
    case none = 0, clockwise90 = 90, half = 180, counterClockwise90 = 270

    /// decord's `GetRotation`: the stream's `rotate` tag if set and non-zero, else minus the display
    /// matrix angle; reduced to [0, 360) and truncated to an integer. Angles that are not 90, 180
    /// or 270 are ignored, as decord's `switch` does.
    static func of(_ stream: UnsafeMutablePointer<AVStream>) -> FrameRotation {
        var theta = 0.0
        if let tag = av_dict_get(stream.pointee.metadata, "rotate", nil, 0), let value = tag.pointee.value,
            value.pointee != 0, String(cString: value) != "0"
        {
            theta = atof(value)
        }
        if theta == 0, let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nil) {
            theta = -av_display_rotation_get(UnsafeRawPointer(matrix).assumingMemoryBound(to: Int32.self))
        }
        theta = fmod(theta, 360)
        if theta < 0 { theta += 360 }
        return FrameRotation(rawValue: Int(theta)) ?? .none
    }
}

/// Converts decoded frames to RGB24 at a fixed size with libswscale, configured exactly as
/// libavfilter's scale filter configures it. Keeps one `SwsContext` and rebuilds it only when the
/// input size or format changes. Cost per frame: one (rotated: two) passes over the picture.
final class FrameConverter {
    let path: String
    let width: Int
    let height: Int
    let options: ScalerOptions
    private var scaler: ScaleContext?
    private var scalerKey: (Int32, Int32, Int32) = (0, 0, -1)

    init(path: String, width: Int, height: Int, options: ScalerOptions) throws(MediaError) {
        guard width > 0, height > 0, width <= 16384, height <= 16384 else { throw .invalidSize(path: path, width: width, height: height) }
        self.path = path
        self.width = width
        self.height = height
        self.options = options
    }

    /// `frame` rotated by `rotation`, scaled to `width`×`height`, as RGB24.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, rotation: FrameRotation) throws(MediaError) -> RGBImage {
        let f = frame.pointee
        guard f.width > 0, f.height > 0 else { throw .invalidSize(path: path, width: Int(f.width), height: Int(f.height)) }
        guard let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: f.format)),
            desc.pointee.flags & UInt64(AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM) == 0,
            sws_isSupportedInput(AVPixelFormat(rawValue: f.format)) > 0
        else {
            throw .unsupportedPixelFormat(path: path, format: pixelFormatName(f.format))
        }
        if rotation == .none {
            let (planes, strides) = planesAndStrides(f)
            return try scale(planes: planes, strides: strides, width: f.width, height: f.height, frame: f)
        }
        var picture = try PlanarPicture(frame: frame, path: path)
        switch rotation {
        case .clockwise90: picture = picture.transposed(clockwise: true)
        case .counterClockwise90: picture = picture.transposed(clockwise: false)
        case .half: picture = picture.transposed(clockwise: true).transposed(clockwise: true)
        case .none: break
        }
        return try picture.withPlanePointers { planes, strides throws(MediaError) in
            try scale(planes: planes, strides: strides, width: Int32(picture.width), height: Int32(picture.height), frame: f)
        }
    }

    private func scale(planes: [UnsafePointer<UInt8>?], strides: [Int32], width w: Int32, height h: Int32, frame f: AVFrame) throws(MediaError) -> RGBImage {
        let ctx = try context(width: w, height: h, format: f.format)
        try applyColorDetails(ctx, frame: f)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let rows = pixels.withUnsafeMutableBufferPointer { out -> Int32 in
            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            let dstStride: [Int32] = [Int32(width * 3), 0, 0, 0]
            return sws_scale(ctx.pointer, planes, strides, 0, h, &dst, dstStride)
        }
        guard rows == Int32(height) else { throw .scalerFailed(path: path, reason: "sws_scale returned \(rows) rows, expected \(height)") }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The converter for this input geometry, set up as `vf_scale`'s `config_props` does: flags,
    /// and for YUV420P the MPEG-2 vertical chroma siting (`src_v_chr_pos=128`).
    private func context(width w: Int32, height h: Int32, format: Int32) throws(MediaError) -> ScaleContext {
        if let scaler, scalerKey == (w, h, format) { return scaler }
        var opts: [(String, Int64)] = [
            ("srcw", Int64(w)), ("srch", Int64(h)), ("src_format", Int64(format)),
            ("dstw", Int64(width)), ("dsth", Int64(height)), ("dst_format", Int64(AV_PIX_FMT_RGB24.rawValue)),
            ("sws_flags", options.interpolation.swsFlags),
            ("src_h_chr_pos", -513), ("dst_h_chr_pos", -513), ("dst_v_chr_pos", -513),
        ]
        opts.append(("src_v_chr_pos", format == AV_PIX_FMT_YUV420P.rawValue ? 128 : -513))
        guard let ctx = ScaleContext(options: opts) else {
            throw .scalerFailed(path: path, reason: "cannot convert \(pixelFormatName(format)) \(w)x\(h) to rgb24 \(width)x\(height)")
        }
        scaler = ctx
        scalerKey = (w, h, format)
        return ctx
    }

    /// `vf_scale`'s per-frame colour set-up with `in_color_matrix=auto`: the YCbCr→RGB matrix from
    /// the frame's colorspace (out-of-range or unspecified → BT.470BG, i.e. BT.601) and the input
    /// range from the frame's `color_range` when it is specified.
    private func applyColorDetails(_ ctx: ScaleContext, frame f: AVFrame) throws(MediaError) {
        var invTable: UnsafeMutablePointer<Int32>? = nil, table: UnsafeMutablePointer<Int32>? = nil
        var srcFull: Int32 = 0, dstFull: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        guard sws_getColorspaceDetails(ctx.pointer, &invTable, &srcFull, &table, &dstFull, &brightness, &contrast, &saturation) >= 0 else {
            return  // RGB-to-RGB converters have no colour details; nothing to set.
        }
        var space = Int32(bitPattern: f.colorspace.rawValue)
        if options.colorMatrix == .bt601 || space < 1 || space > 10 || space == 8 { space = Int32(AVCOL_SPC_BT470BG.rawValue) }
        let coefficients = sws_getCoefficients(space)
        if f.color_range != AVCOL_RANGE_UNSPECIFIED { srcFull = f.color_range == AVCOL_RANGE_JPEG ? 1 : 0 }
        _ = sws_setColorspaceDetails(ctx.pointer, coefficients, srcFull, coefficients, dstFull, brightness, contrast, saturation)
    }
}

/// A copy of a planar 8-bit frame (each plane tightly packed), so it can be transposed the way
/// libavfilter's `transpose` filter does. Only formats with equal horizontal and vertical chroma
/// subsampling, as that filter accepts.
struct PlanarPicture {
    var width: Int
    var height: Int
    var planes: [[UInt8]]
    var planeSizes: [(w: Int, h: Int)]

    init(frame: UnsafeMutablePointer<AVFrame>, path: String) throws(MediaError) {
        let f = frame.pointee
        guard let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: f.format)) else {
            throw .unsupportedPixelFormat(path: path, format: pixelFormatName(f.format))
        }
        let d = desc.pointee
        let planar = d.flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0
        let notPlain = UInt64(AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BE | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM)
        let components = [d.comp.0, d.comp.1, d.comp.2, d.comp.3].prefix(Int(d.nb_components))
        let onePerPlane = Set(components.map(\.plane)).count == components.count && components.allSatisfy { $0.depth == 8 && $0.step == 1 }
        guard planar || d.nb_components == 1, d.flags & notPlain == 0, onePerPlane, d.log2_chroma_w == d.log2_chroma_h else {
            throw .unsupportedPixelFormat(path: path, format: pixelFormatName(f.format) + " (rotation needs planar 8-bit with square chroma subsampling)")
        }
        width = Int(f.width)
        height = Int(f.height)
        let planeCount = Int((components.map(\.plane).max() ?? 0) + 1)
        planes = Array(repeating: [], count: planeCount)
        planeSizes = Array(repeating: (0, 0), count: planeCount)
        let dataPointers = [f.data.0, f.data.1, f.data.2, f.data.3]
        let strides = [f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3]
        let shift = Int(d.log2_chroma_w)
        for c in components {
            let p = Int(c.plane)
            let chroma = p == 1 || p == 2  // FFmpeg's convention: planes 1 and 2 carry subsampled chroma
            let pw = chroma ? -((-width) >> shift) : width, ph = chroma ? -((-height) >> shift) : height
            guard let base = dataPointers[p] else { throw .unsupportedPixelFormat(path: path, format: pixelFormatName(f.format)) }
            var plane = [UInt8](repeating: 0, count: pw * ph)
            for y in 0..<ph {
                let row = base + y * Int(strides[p])
                for x in 0..<pw { plane[y * pw + x] = row[x] }
            }
            planes[p] = plane
            planeSizes[p] = (pw, ph)
        }
    }

    /// Rotated by 90°: clockwise (`transpose=1`): out[r][c] = in[H−1−c][r]; counter-clockwise
    /// (`transpose=2`): out[r][c] = in[c][W−1−r]. O(pixels).
    func transposed(clockwise: Bool) -> PlanarPicture {
        var out = self
        out.width = height
        out.height = width
        for (i, plane) in planes.enumerated() {
            let (w, h) = planeSizes[i]
            var t = [UInt8](repeating: 0, count: w * h)
            // Output plane is h wide and w tall.
            for r in 0..<w {
                for c in 0..<h {
                    t[r * h + c] = clockwise ? plane[(h - 1 - c) * w + r] : plane[c * w + (w - 1 - r)]
                }
            }
            out.planes[i] = t
            out.planeSizes[i] = (h, w)
        }
        return out
    }

    /// Calls `body` with sws_scale-style plane pointers and strides (valid only during the call).
    func withPlanePointers<T>(_ body: ([UnsafePointer<UInt8>?], [Int32]) throws(MediaError) -> T) throws(MediaError) -> T {
        var pointers: [UnsafePointer<UInt8>?] = [nil, nil, nil, nil]
        var strides: [Int32] = [0, 0, 0, 0]
        // Planes are copied into one contiguous buffer so every pointer stays valid for the call.
        var offsets: [Int] = []
        var all: [UInt8] = []
        for (i, plane) in planes.enumerated() {
            offsets.append(all.count)
            all.append(contentsOf: plane)
            strides[i] = Int32(planeSizes[i].w)
        }
        return try all.withUnsafeBufferPointer { (buffer) throws(MediaError) -> T in
            for i in planes.indices { pointers[i] = buffer.baseAddress.map { UnsafePointer($0 + offsets[i]) } }
            return try body(pointers, strides)
        }
    }
}
