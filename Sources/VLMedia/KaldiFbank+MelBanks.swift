import Foundation

extension KaldiFbank {
    /// torchaudio's `get_mel_banks` (no VTLN warp): Kaldi mel scale `1127·ln(1 + f/700)`; the
    /// endpoints and the spacing `(mel_high − mel_low)/(bins + 1)` in double (Python floats), the
    /// per-filter edges and the per-FFT-bin mel values in float32 (torch tensors), weights
    /// `max(0, min(up, down))` on FFT bins 0 ..< padded/2 (the Nyquist bin gets weight 0).
    /// Returns each filter's non-zero span.
    static func melBanks(bins: Int, padded: Int, sampleRate: Double, low: Double, high: Double) -> (firstBin: [Int], weights: [[Float]]) {
        func melScalar(_ f: Double) -> Double { 1127.0 * log(1.0 + f / 700.0) }
        let fftBins = padded / 2
        let binWidth = Float(sampleRate / Double(padded))
        let melLow = melScalar(low), melHigh = melScalar(high)
        let delta = Float((melHigh - melLow) / Double(bins + 1))
        let lowF = Float(melLow)
        let mel: [Float] = (0..<fftBins).map { k in Float(1127.0) * log(Float(1.0) + (binWidth * Float(k)) / Float(700.0)) }
        var firstBin: [Int] = [], weights: [[Float]] = []
        for b in 0..<bins {
            let left = lowF + Float(b) * delta
            let center = lowF + (Float(b) + 1) * delta
            let right = lowF + (Float(b) + 2) * delta
            let row: [Float] = mel.map { m in max(0, min((m - left) / (center - left), (right - m) / (right - center))) }
            guard let first = row.firstIndex(where: { $0 != 0 }), let last = row.lastIndex(where: { $0 != 0 }) else {
                firstBin.append(0)
                weights.append([])
                continue
            }
            firstBin.append(first)
            weights.append(Array(row[first...last]))
        }
        return (firstBin, weights)
    }
}
