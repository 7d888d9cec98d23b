import Foundation
import VLCore

/// `torchaudio.functional.resample(waveform, orig, new)` with its defaults (`sinc_interp_hann`,
/// `lowpass_filter_width` 6, `rolloff` 0.99), written from its definition:
/// - the rates are reduced by their gcd (44100→16000 becomes 441→160);
/// - the polyphase kernel `[new][2·width + orig]` is `_get_sinc_resample_kernel`'s, computed the way
///   torchaudio computes it **for a float32 waveform: in float32** (it passes the waveform's dtype
///   as the kernel's; float64 and a final cast happen only when no dtype is given), step by step in
///   the same order: `t = (−p/new + k/orig)·base`, clamped to ±width, Hann window `cos(t·π/w/2)²`,
///   `sinc(π·t)·(window·base/orig)`;
/// - it is applied as its `conv1d`: the input is zero-padded by `width` on the left and
///   `width + orig` on the right, each output frame i (stride `orig`) gives `new` samples
///   `out[i·new + p] = Σₖ kernel[p][k] · padded[i·orig + k]`, and the result is cut to
///   `ceil(new·N / orig)` samples (computed in double precision, as torchaudio does).
///
/// Equal rates return the input untouched. Cost per output sample: the taps inside the window's
/// support (`support`: 33 of the kernel's 475 at 44.1 kHz → 16 kHz, 37 of 41 at 48 kHz, 13 of 15 at
/// 8 kHz); memory: the kernel, `new·(2·width + orig)` floats (76,000 for 44.1 kHz).
public struct Resampler: Sendable {
    public let inputRate: Int
    public let outputRate: Int
    /// The gcd-reduced rates.
    public let orig: Int
    public let new: Int
    /// torchaudio's `width`: `ceil(lowpass_filter_width · orig / base_freq)`.
    public let width: Int
    /// Taps per phase: `2·width + orig`.
    public let taps: Int
    /// `[new][taps]`, row-major.
    public let kernel: [Float]
    /// Per phase, the taps inside the window's support (`|t| < lowpass_filter_width` before
    /// torchaudio's clamp). Outside it the clamp pins t to ±width, where the weight is
    /// `cos(π/2)²·sinc(width·π)·scale` ≈ 1e-22 in float32 (cos(π/2) rounds to −4.4e-8): ~93 % of the
    /// 475 taps at 44.1 kHz. The optimized path skips them, which moves a result by far less than one
    /// float32 ulp; the reference path keeps them.
    public let support: [Range<Int>]

    /// The largest kernel accepted (`new · taps` floats, 256 MiB): rates whose reduced ratio is huge
    /// (e.g. 44101 Hz) would need gigabytes, as they would in torchaudio.
    public static let maxKernelElements = 1 << 26

    /// `path` only labels errors. Throws `.unsupportedSampleRate` for a non-positive rate or an
    /// oversized kernel.
    public init(
        from inputRate: Int, to outputRate: Int, lowpassFilterWidth: Int = 6, rolloff: Double = 0.99, path: String = ""
    )
        throws(MediaError)
    {
        guard inputRate > 0, outputRate > 0, lowpassFilterWidth > 0, rolloff > 0 else {
            throw .unsupportedSampleRate(path: path, rate: min(inputRate, outputRate), detail: "rates and filter width must be positive")
        }
        let g = Self.gcd(inputRate, outputRate)
        let orig = inputRate / g, new = outputRate / g
        let base = Double(min(orig, new)) * rolloff
        let widthD = (Double(lowpassFilterWidth) * Double(orig) / base).rounded(.up)
        guard widthD < Double(Int32.max), let taps = Checked.add(2 * Int(widthD), orig),
            let elements = Checked.multiply(taps, new), elements <= Self.maxKernelElements
        else {
            throw .unsupportedSampleRate(
                path: path, rate: inputRate, detail: "resampling \(inputRate) → \(outputRate) Hz needs a \(new)-phase kernel too large to build")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.orig = orig
        self.new = new
        self.width = Int(widthD)
        self.taps = taps
        (self.kernel, self.support) = Self.kernel(
            orig: orig, new: new, width: Int(widthD), taps: taps, base: base, lowpassFilterWidth: lowpassFilterWidth)
    }

    /// `_get_sinc_resample_kernel` in float32 (see the type's comment). Python scalars meeting a float32
    /// tensor are rounded to float32 first, as PyTorch's CPU kernels do.
    static func kernel(orig: Int, new: Int, width: Int, taps: Int, base: Double, lowpassFilterWidth: Int) -> ([Float], [Range<Int>]) {
        let origF = Float(orig), newF = Float(new), baseF = Float(base), lpw = Float(lowpassFilterWidth)
        let pi = Float(Double.pi), scale = Float(base / Double(orig))
        var kernel = [Float](repeating: 0, count: new * taps)
        var support: [Range<Int>] = []
        for p in 0..<new {
            let phase = Float(-p) / newF
            var first = taps, last = -1
            for k in 0..<taps {
                let idx = Float(k - width) / origF
                var t = (phase + idx) * baseF
                if abs(t) < lpw { (first, last) = (min(first, k), k) }
                t = min(max(t, -lpw), lpw)
                let c = cos(t * pi / lpw / 2)
                let window = c * c
                t *= pi
                let sinc: Float = t == 0 ? 1 : sin(t) / t
                kernel[p * taps + k] = sinc * (window * scale)
            }
            support.append(last >= first ? first..<(last + 1) : 0..<0)
        }
        return (kernel, support)
    }

    /// torchaudio's output length for `count` input samples: `ceil(new · count / orig)` in double.
    public func outputCount(for count: Int) -> Int? {
        guard let product = Checked.multiply(new, count) else { return nil }
        return Int((Double(product) / Double(orig)).rounded(.up))
    }

    /// Resamples one channel. Equal rates return `samples` unchanged.
    public func resample(_ samples: [Float]) -> [Float] {
        if inputRate == outputRate { return samples }
        var stream = StreamingResampler(self)
        samples.withUnsafeBufferPointer { stream.push($0) }
        return stream.finish()
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
