import Dispatch
import Testing
import VLCore
@testable import VLQuant

/// Rough throughput of the optimized quantizers on f16 input (GB/s of f16 read), 1 and 2 threads,
/// converting 256-row tiles (4 MiB of f32) at a time.
/// Not a timed test: only runs with `VLQUANT_BENCH=1 swift test --filter QuantBench`.
@Suite struct QuantBench {
    static let enabled = ProcessInfoShim.env("VLQUANT_BENCH") == "1"

    @Test(.enabled(if: enabled))
    func throughput() throws {
        let cols = 4096
        for type in QuantType.allCases {
            let rows = type.elementsPerBlock == 256 ? 256 : 2048
            let x = FixtureGenerator.generate(seed: 42, start: 0, count: rows * cols, mode: .normal, group: 256)
            let halves = x.map { FloatConversion.float16FromFloat($0) }
            var out = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
            var line = "bench \(type.rawValue) (\((halves.count * 2) >> 20) MiB f16):"
            for threads in [1, 2] {
                var best = Double.infinity
                let c0 = clock()
                for _ in 0..<3 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try halves.withUnsafeBytes { src in
                        try out.withUnsafeMutableBytes {
                            try SourceConversion.quantize(type, source: src, dtype: .f16, rowLength: cols, into: $0, threads: threads, tileRows: 256)
                        }
                    }
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
                let cpu = Double(clock() - c0) / Double(CLOCKS_PER_SEC)
                line += String(format: "  %d thread(s) %.3f GB/s (cpu %.2fs)", threads, Double(halves.count * 2) / best / 1e9, cpu)
            }
            print(line + (Quantizer.usesAVX2 ? " [AVX2]" : " [scalar]"))
        }
    }
}

import Foundation
enum ProcessInfoShim {
    static func env(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}
