import Dispatch
import Foundation
import Testing
import VLCore
import VLQuant
@testable import VLQuantize

/// Quality and speed on realistic tensors, for Docs/BENCHMARKS.md. Opt-in:
/// `VLQUANTIZE_BENCH_DIR=DIR swift test -c release --filter QuantizeBench`, where DIR holds raw
/// little-endian f16 files named `<label>_<rows>x<cols>.f16`. For each file and type prints RMSE,
/// relative L2 and bits per weight, and the throughput (GB/s of f16 input, best of `reps`) at 1 and
/// 2 threads (tiles of `VLQUANTIZE_BENCH_TILE` values, default `StreamingQuantizer.defaultTileValues`) of
/// (a) f16→f32 + quantize (`SourceConversion.quantize`, what ggml_quantize_chunk is
/// timed on) and (b) the whole `StreamingQuantizer` path (also dequantizes and measures the error).
@Suite struct QuantizeBench {
    static let dir = ProcessInfo.processInfo.environment["VLQUANTIZE_BENCH_DIR"]

    @Test(.enabled(if: dir != nil)) func qualityAndThroughput() throws {
        let dir = Self.dir!
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".f16") }.sorted()
        let tile = ProcessInfo.processInfo.environment["VLQUANTIZE_BENCH_TILE"].flatMap { Int($0) } ?? StreamingQuantizer.defaultTileValues
        let only = ProcessInfo.processInfo.environment["VLQUANTIZE_BENCH_TYPES"]?.split(separator: ",").compactMap { QuantType(rawValue: String($0)) }
        for file in files {
            let dims = file.dropLast(4).split(separator: "_").last!.split(separator: "x").compactMap { Int($0) }
            let (rows, cols) = (dims[0], dims[1])
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(file)"), options: .alwaysMapped)
            for type in only ?? QuantType.allCases {
                let reps = type.elementsPerBlock == 256 ? 1 : 3
                var out = [UInt8](repeating: 0, count: type.byteCount(elements: rows * cols)!)
                var line = "bench\t\(file)\t\(type.rawValue)"
                var report: QuantErrorReport?
                for threads in [1, 2] {
                    let kernel = try Self.best(reps) {
                        try data.withUnsafeBytes { src in
                            try out.withUnsafeMutableBytes {
                                try SourceConversion.quantize(
                                    type, source: src, dtype: .f16, rowLength: cols, into: $0, threads: threads,
                                    tileRows: max(1, tile / cols))
                            }
                        }
                    }
                    let streaming = try Self.best(reps) {
                        let q = try StreamingQuantizer(type: type, dtype: .f16, rowLength: cols, threads: threads, tileValues: tile)
                        try data.withUnsafeBytes { try q.consume($0) { _ in } }
                        report = try q.finish { _ in }
                    }
                    line += String(
                        format: "\t%dt kernel %.4f GB/s streaming %.4f GB/s", threads,
                        Double(data.count) / kernel / 1e9, Double(data.count) / streaming / 1e9)
                }
                let r = report!
                print(line + String(format: "\trmse=%.6g\trel_l2=%.6g\tbpw=%.4f", r.rmse, r.relativeL2, r.bitsPerWeight))
            }
        }
    }

    /// Best wall time of `reps` runs, in seconds.
    static func best(_ reps: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return best
    }
}
