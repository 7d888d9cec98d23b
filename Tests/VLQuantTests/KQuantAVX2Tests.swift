import Foundation
import Testing
import VLCore
import VLTestSupport
@testable import VLQuant

/// The AVX2 sub-block search (quant_k_avx2.c) must give the reference's bytes on every kind of
/// block, including the branches (flat, all-zero, one-sided, tiny, huge) that become lane blends.
@Suite struct KQuantAVX2Tests {
    static func blocks(count: Int) -> [Float] {
        var rng = SplitMix64(seed: 7)
        var out: [Float] = []
        for b in 0..<count {
            let kind = b % 10
            for i in 0..<256 {
                let u = rng.unit(), g = rng.gaussian()
                let v: Float =
                    switch kind {
                    case 0: g * 0.02  // normal weights
                    case 1: g * 0.02 / max(0.05, abs(rng.gaussian()))  // heavy-tailed
                    case 2: 0  // all zero
                    case 3: 0.5  // constant (flat sub-blocks)
                    case 4: abs(g) + 0.1  // positive only (min > 0 clamp)
                    case 5: -abs(g)  // negative only
                    case 6: g * 1e-20  // below GROUP_EPS
                    case 7: i % 32 == 5 ? 1000 : g  // one outlier per sub-block
                    case 8: (i / 32) % 2 == 0 ? 0 : g  // half the sub-blocks flat
                    default: u < 0.5 ? -0.0 : Float(i % 7) - 3  // signed zeros and small integers
                    }
                out.append(v)
            }
        }
        return out
    }

    @Test(arguments: [QuantType.q4_k, .q6_k])
    func optimizedEqualsReference(type: QuantType) throws {
        let x = Self.blocks(count: 4000)
        var outputs: [[UInt8]] = []
        for kernel in [QuantKernel.reference, .optimized] {
            var out = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
            try x.withUnsafeBufferPointer { xs in
                try out.withUnsafeMutableBytes { try Quantizer.quantize(type, rows: xs, rowLength: 256, into: $0, kernel: kernel) }
            }
            outputs.append(out)
        }
        let b = type.bytesPerBlock
        let differing = (0..<(x.count / 256)).filter { outputs[0][($0 * b)..<($0 * b + b)] != outputs[1][($0 * b)..<($0 * b + b)] }
        #expect(differing.isEmpty, "blocks differing from the reference: \(differing.prefix(10)) (kinds \(differing.prefix(10).map { $0 % 10 }))")
    }
}

/// Normal floats drawn from the shared generator for the test inputs.
extension SplitMix64 {
    mutating func gaussian() -> Float {
        let u1 = max(unit(), 1e-7), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
