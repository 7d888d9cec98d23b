import CBLAS
import Foundation
import Testing
import VLInference
import VLPackFormat
import VLQuant

/// Opt-in: the full-size vision branch (random weights at the released ViT-g / Q-Former sizes, made by
/// `Fixtures/reference/generate_reference.py --full DIR` and `vlpack convert`). Run with
/// `VLPACK_FULL_DIR=DIR swift test --filter FullSizeBenchmark`. DIR must hold `full-f16.vlpack` and
/// `full_vision.safetensors`; `full-q4_k_m.vlpack` and `full-q8_0.vlpack` are written there when absent.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VLPACK_FULL_DIR"] != nil), .serialized)
struct FullSizeBenchmark {
    static let dir = ProcessInfo.processInfo.environment["VLPACK_FULL_DIR"] ?? ""

    static func table(_ results: [StageResult]) -> String {
        results.map { r in
            String(format: "%-30@ max_abs %.3e  rel_l2 %.3e  cosine %.8f  %@ %@", (r.chained ? "\(r.name) (chained)" : r.name) as NSString,
                   r.metrics.maxAbs, r.metrics.relL2, r.metrics.cosine, r.tolerance.name as NSString, r.pass ? "PASS" : "FAIL")
        }.joined(separator: "\n")
    }

    @Test(arguments: ["f16", "q8_0", "q4_k_m"])
    func parity(variant: String) throws {
        let path = "\(Self.dir)/full-\(variant).vlpack"
        if !FileManager.default.fileExists(atPath: path) {
            try Samples.requantize("\(Self.dir)/full-f16.vlpack", to: variant == "q8_0" ? .q8_0 : .q4_k, output: path)
        }
        BLAS.setThreads(2)
        let branch = try VideoBranch(weights: Weights(path: path))
        let results = try VisionReferenceCheck.run(branch: branch, reference: ReferenceFile(path: "\(Self.dir)/full_vision.safetensors"))
        print("== full-size \(variant)\n\(Self.table(results))")
        for r in results { #expect(r.pass, "\(r.name)") }
    }

    /// Flops of one forward pass on T frames (GEMMs and attention products; element-wise ops excluded).
    static func flops(_ b: VideoBranch, frames t: Int) -> Double {
        let e = b.eva.config, q = b.qformer.config, v = b.videoQFormer.config
        let (N, W, P) = (Double(e.tokens), Double(e.width), Double(e.grid * e.grid))
        var f = 2 * P * Double(3 * e.patchSize * e.patchSize) * W
        f += Double(e.depth) * (2 * N * (3 * W * W + W * W + 2 * W * Double(e.mlp)) + 4 * N * N * W)
        func qformer(_ c: QFormerConfig, memory: Double) -> Double {
            let (Q, H, I) = (Double(c.queries), Double(c.hidden), Double(c.intermediate))
            var x = 0.0
            for l in 0..<c.layers {
                x += 2 * Q * (4 * H * H + 2 * H * I) + 4 * Q * Q * H
                if c.hasCrossAttention(layer: l) { x += 2 * Q * 2 * H * H + 2 * memory * 2 * Double(c.encoderWidth) * H + 4 * Q * memory * H }
            }
            return x
        }
        return Double(t) * (f + qformer(q, memory: N)) + qformer(v, memory: Double(t * q.queries))
            + 2 * Double(v.queries * v.hidden * b.llmHidden)
    }

    @Test func timing() throws {
        BLAS.setThreads(2)
        let t = 8
        let branch = try VideoBranch(weights: Weights(path: "\(Self.dir)/full-f16.vlpack"))
        let ref = try ReferenceFile(path: "\(Self.dir)/full_vision.safetensors")
        let frames = try #require(try ref.tensor("input.frames", rank: 4))
        _ = try branch.forward(frames: frames.values, count: t)  // warm: pages, buffers
        var times: [Double] = []
        for _ in 0..<3 {
            let start = Date()
            _ = try branch.forward(frames: frames.values, count: t)
            times.append(Date().timeIntervalSince(start))
        }
        let median = times.sorted()[1]
        let flops = Self.flops(branch, frames: t)

        // cblas_sgemm peak at the dominant shape (EVA fc1: M = 8·257, N = 6144, K = 1408), same 2 threads.
        let (m, n, k) = (t * 257, 6144, 1408)
        let a = FloatBuffer(capacity: m * k), w = FloatBuffer(capacity: n * k), c = FloatBuffer(capacity: m * n)
        a.pointer.update(repeating: 0.5, count: m * k); w.pointer.update(repeating: 0.25, count: n * k)
        var gemm: [Double] = []
        for _ in 0..<5 {
            let start = Date()
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a.pointer, Int32(k), w.pointer, Int32(k), 0, c.pointer, Int32(n))
            gemm.append(Date().timeIntervalSince(start))
        }
        let peak = 2 * Double(m * n * k) / gemm.sorted()[2] / 1e9
        print(String(format: "== full-size vision branch, %d frames, f16 weights, 2 threads: runs %@ s, median %.2f s, %.1f GFLOP, %.1f GFLOP/s; cblas_sgemm %dx%dx%d: %.1f GFLOP/s (%.0f%% of it)",
                     t, times.map { String(format: "%.2f", $0) }.joined(separator: " ") as NSString, median, flops / 1e9,
                     flops / median / 1e9, m, n, k, peak, 100 * flops / median / 1e9 / peak))
    }
}
