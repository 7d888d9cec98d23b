import CFFmpeg
import Foundation

/// `torchaudio.compliance.kaldi.fbank` with the arguments ImageBind's `waveform2melspec` passes
/// (spec §4.3): channel 0, `htk_compat` True with `use_energy` False (so no energy column),
/// `window_type="hanning"` (symmetric Hann, `torch.hann_window(periodic=False)`), dither 0,
/// 25 ms frames every 10 ms, `snip_edges` True, `remove_dc_offset` True, preemphasis 0.97 (the first
/// sample its own predecessor), `round_to_power_of_two` (400 → 512 at 16 kHz), power spectrum,
/// `melBins` triangular filters on the Kaldi mel scale from 20 Hz to `highFrequency` (≤ 0: nyquist +
/// it), `log(max(E, FLT_EPSILON))`.
///
/// Arithmetic follows torchaudio's dtypes: everything per frame is float32 (the waveform's dtype),
/// as are the window and the mel filters (built from float32 tensors; only the mel-scale endpoints
/// and their spacing are Python doubles). The FFT is libavutil's `av_tx` `AV_TX_FLOAT_RDFT`
/// (forward, unscaled — the same convention as `torch.fft.rfft`, so no rescaling), a well-kept
/// library VLMedia already links; power is `re² + im²` (torch squares `|X|`, equal up to rounding).
/// The mel product skips each filter's zero weights (torch multiplies by the dense matrix).
///
/// Cost per frame: a 512-point real FFT plus ~3 multiply-adds per FFT bin for the filters.
public struct KaldiFbank: Sendable {
    public let sampleRate: Int
    public let melBins: Int
    /// `int(sr · 25 · 0.001)`, `int(sr · 10 · 0.001)` and the next power of two of the first.
    public let windowSize: Int
    public let windowShift: Int
    public let paddedSize: Int
    /// `torch.hann_window(windowSize, periodic=False)` in float32.
    let window: [Float]
    /// Filter b's weights on FFT bins `firstBin[b] ..< firstBin[b] + weights[b].count`.
    let firstBin: [Int]
    let weights: [[Float]]

    public static let epsilon = Float.ulpOfOne  // torch.finfo(torch.float).eps = 1.1920929e-07

    /// Throws `.invalidAudioSettings` for settings torchaudio's assertions reject.
    public init(sampleRate: Int = 16000, melBins: Int = 128, lowFrequency: Double = 20, highFrequency: Double = 0) throws(MediaError) {
        guard sampleRate > 0, sampleRate <= 1 << 24 else { throw .invalidAudioSettings(name: "sampleRate", value: "\(sampleRate)") }
        guard melBins > 3, melBins <= 4096 else { throw .invalidAudioSettings(name: "melBins", value: "\(melBins)") }
        let shift = Int(Double(sampleRate * 10) * 0.001), size = Int(Double(sampleRate * 25) * 0.001)
        guard shift > 0, size >= 2 else { throw .invalidAudioSettings(name: "sampleRate", value: "\(sampleRate) (frames too short)") }
        let padded = 1 << (Int.bitWidth - (size - 1).leadingZeroBitCount)
        let nyquist = 0.5 * Double(sampleRate)
        let high = highFrequency <= 0 ? highFrequency + nyquist : highFrequency
        guard lowFrequency >= 0, lowFrequency < nyquist, high > 0, high <= nyquist, lowFrequency < high else {
            throw .invalidAudioSettings(name: "mel frequency range", value: "\(lowFrequency)–\(high) Hz at \(sampleRate) Hz")
        }
        self.sampleRate = sampleRate
        self.melBins = melBins
        windowSize = size
        windowShift = shift
        paddedSize = padded
        window = Self.hannWindow(size)
        (firstBin, weights) = Self.melBanks(bins: melBins, padded: padded, sampleRate: Double(sampleRate), low: lowFrequency, high: high)
    }

    /// Frames for `n` samples with `snip_edges`: `1 + ⌊(n − size)/shift⌋`, 0 when n < size.
    public func frameCount(samples n: Int) -> Int { n < windowSize ? 0 : 1 + (n - windowSize) / windowShift }

    /// The log-mel energies of `samples`, `[frames][melBins]` row-major (torchaudio's layout).
    public func callAsFunction(_ samples: [Float]) -> [Float] {
        let fft = RealFFT(length: paddedSize)
        var out = [Float](repeating: 0, count: frameCount(samples: samples.count) * melBins)
        samples.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in compute(x, into: o, fft: fft) }
        }
        return out
    }

    /// Writes `frameCount(samples:) · melBins` values into `out`. `fft` must be `paddedSize` long and
    /// used by this thread only.
    func compute(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>, fft: RealFFT) {
        let frames = frameCount(samples: x.count)
        guard frames > 0, let base = x.baseAddress, let outBase = out.baseAddress, out.count >= frames * melBins else { return }
        let size = windowSize, bins = paddedSize / 2 + 1
        let input = fft.input
        var frame = [Float](repeating: 0, count: size)
        var power = [Float](repeating: 0, count: bins)
        let coefficient: Float = 0.97
        for f in 0..<frames {
            let src = base + f * windowShift
            // remove_dc_offset: the frame's mean (summed in double, rounded to float).
            var sum = 0.0
            for j in 0..<size { sum += Double(src[j]) }
            let mean = Float(sum / Double(size))
            for j in 0..<size { frame[j] = src[j] - mean }
            // Preemphasis from the mean-removed frame (x[−1] = x[0]), then the window, then zero padding.
            input[0] = (frame[0] - coefficient * frame[0]) * window[0]
            for j in 1..<size { input[j] = (frame[j] - coefficient * frame[j - 1]) * window[j] }
            for j in size..<paddedSize { input[j] = 0 }
            fft.run()
            for k in 0..<bins {
                let c = fft.output[k]
                power[k] = c.re * c.re + c.im * c.im
            }
            let row = outBase + f * melBins
            for b in 0..<melBins {
                let w = weights[b], first = firstBin[b]
                var e: Float = 0
                for i in 0..<w.count { e += w[i] * power[first + i] }
                row[b] = log(max(e, Self.epsilon))
            }
        }
    }

    /// `torch.hann_window(n, periodic=False)` for float32: `0.5 − 0.5·cos(i · (2π/(n−1)))`, with the
    /// scalar rounded to float first, as PyTorch evaluates it.
    static func hannWindow(_ n: Int) -> [Float] {
        if n == 1 { return [1] }
        let step = Float(2 * Double.pi / Double(n - 1))
        return (0..<n).map { i in cos(Float(i) * step) * -0.5 + 0.5 }
    }
}
