import VLCore

/// The rate `Ops.linear` (split single-threaded sgemm) reaches at one shape on this machine, best of
/// 5: the limit a forward pass's GEMMs are measured against. Cost: 5 GEMMs of 2·m·n·k flops and
/// (m·k + n·k + m·n) floats of memory.
public struct LinearRate: Sendable {
    public let m: Int, n: Int, k: Int
    public let gflops: Double

    public static func measure(rows m: Int, out n: Int, in k: Int, on context: ExecutionContext) -> LinearRate {
        let x = FloatBuffer(capacity: m * k), w = FloatBuffer(capacity: n * k), y = FloatBuffer(capacity: m * n)
        x.pointer.update(repeating: 0.5, count: m * k)
        w.pointer.update(repeating: 0.25, count: n * k)
        var best = Double.infinity
        for _ in 0..<5 {
            let (_, seconds) = timed { Ops.linear(x.pointer, rows: m, in: k, weight: w.pointer, bias: nil, out: n, into: y.pointer, on: context) }
            best = min(best, seconds)
        }
        return LinearRate(m: m, n: n, k: k, gflops: 2 * Double(m) * Double(n) * Double(k) / best / 1e9)
    }
}
