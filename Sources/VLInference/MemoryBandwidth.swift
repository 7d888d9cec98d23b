import VLCore

/// The rate this machine reads memory, as a limit for memory-bound work (one-token decoding streams
/// every weight once per token): the best of 3 passes of a 4-accumulator SIMD sum over `bytes` of
/// memory on each of the context's workers. Cost: `bytes` of memory and 3 · bytes of reads.
public struct MemoryBandwidth: Sendable {
    public let bytes: Int
    public let gigabytesPerSecond: Double

    public static func measure(bytes: Int = 1 << 30, on context: ExecutionContext) -> MemoryBandwidth {
        let parts = context.threads
        // Whole 64-float chunks on every worker, so every byte counted is read.
        let count = max(1, bytes / MemoryLayout<Float>.size / (64 * parts)) * 64 * parts
        let buffer = FloatBuffer(capacity: count)
        buffer.pointer.update(repeating: 1, count: count)
        let base = SharedPointer(UnsafePointer(buffer.pointer))
        var best = Double.infinity
        var sink: Float = 0
        for _ in 0..<3 {
            let sums = FloatBuffer(capacity: parts)
            let out = SharedPointer(sums.pointer)
            let (_, seconds) = timed {
                context.run(parts) { part in
                    let range = count / parts * part..<count / parts * (part + 1)
                    var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
                    var i = range.lowerBound
                    let p = UnsafeRawPointer(base.pointer)
                    while i + 64 <= range.upperBound {
                        a += p.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                        b += p.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self)
                        c += p.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self)
                        d += p.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self)
                        i += 64
                    }
                    out.pointer[part] = (a + b + c + d).sum()
                }
            }
            best = min(best, seconds)
            for k in 0..<parts { sink += sums.pointer[k] }
        }
        // The sums keep the loads from being optimized away; they are all count·1.
        precondition(sink > 0)
        return MemoryBandwidth(bytes: count * 4, gigabytesPerSecond: Double(count * 4) / best / 1e9)
    }
}
