/// How far an output is from a reference: computed in double precision over all elements.
public struct ErrorMetrics: Sendable, Equatable {
    public var maxAbs: Double
    /// ‖got − want‖₂ / ‖want‖₂.
    public var relL2: Double
    /// got·want / (‖got‖ ‖want‖).
    public var cosine: Double

    public init(got: [Float], want: [Float]) {
        precondition(got.count == want.count)
        var maxAbs = 0.0, diff = 0.0, gg = 0.0, ww = 0.0, gw = 0.0
        for i in 0..<got.count {
            let g = Double(got[i]), w = Double(want[i]), d = g - w
            maxAbs = max(maxAbs, abs(d)); diff += d * d; gg += g * g; ww += w * w; gw += g * w
        }
        self.maxAbs = maxAbs
        relL2 = ww > 0 ? (diff / ww).squareRoot() : diff.squareRoot()
        cosine = gg > 0 && ww > 0 ? gw / (gg.squareRoot() * ww.squareRoot()) : (gg == ww ? 1 : 0)
    }
}
