import Foundation
import Testing
import VLInference
import VLVerify
import VLPackFormat
import VLQuantize

/// Opt-in: parity of the full-size vision branch (random weights at the released ViT-g / Q-Former
/// sizes, made by `Fixtures/reference/generate_reference.py --full DIR` and `vlpack convert`); its
/// timing is `vlpack bench vision` (Docs/BENCHMARKS.md). Run with
/// `VLPACK_FULL_DIR=DIR swift test --filter FullSizeParity`. DIR must hold `full-f16.vlpack` and
/// `full_vision.safetensors`; `full-q4_k_m.vlpack` and `full-q8_0.vlpack` are written there when absent.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VLPACK_FULL_DIR"] != nil), .serialized)
struct FullSizeParity {
    static let dir = ProcessInfo.processInfo.environment["VLPACK_FULL_DIR"] ?? ""

    static func table(_ results: [StageResult]) -> String {
        results.map { r in
            String(
                format: "%-30@ max_abs %.3e  rel_l2 %.3e  cosine %.8f  %@ %@", (r.chained ? "\(r.name) (chained)" : r.name) as NSString,
                r.metrics.maxAbs, r.metrics.relL2, r.metrics.cosine, r.tolerance.name as NSString, r.verdict as NSString)
        }.joined(separator: "\n")
    }

    @Test(arguments: ["f16", "q8_0", "q4_k_m"])
    func parity(variant: String) throws {
        let path = "\(Self.dir)/full-\(variant).vlpack"
        if !FileManager.default.fileExists(atPath: path) {
            try Samples.requantize("\(Self.dir)/full-f16.vlpack", to: variant == "q8_0" ? .q8_0 : .q4_k_m, output: path)
        }
        let branch = try VideoBranch(weights: Weights(path: path))
        let results = try VisionReferenceCheck.run(branch: branch, reference: ReferenceFile(path: "\(Self.dir)/full_vision.safetensors"))
        print("== full-size \(variant)\n\(Self.table(results))")
        for r in results { #expect(r.pass, "\(r.name)") }
    }
}
