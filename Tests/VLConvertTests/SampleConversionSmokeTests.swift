import Foundation
import Logging
import Testing
import VLConvert
import VLCore
import VLPackFormat

/// Converts the bundled vision samples and checks the canonical names the inference code reads.
@Suite struct SampleConversionSmokeTests {
    static let samples: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/samples").path
    }()

    @Test func visionSamplesConvertToCanonicalNames() throws {
        let s = Self.samples
        var options = ConversionPlan.Options()
        options.configOverrides = try JSONValue.parse(String(contentsOfFile: "\(s)/convert-config.json", encoding: .utf8))
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let plan = try ConversionPlan.make(inputs: ["\(s)/eva_vit_g.pth", "\(s)/blip2_pretrained_flant5xxl.pth", "\(s)/VL_tiny.pth"],
                                           maps: try ModelMap.bundled(), options: options, logger: logger)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("smoke-\(UUID().uuidString).vlpack").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try Converter(plan: plan, logger: logger).run(output: out)
        let pack = try VLPackFile(path: out)
        for name in ["vision.encoder.cls_token", "vision.encoder.blocks.1.attn.qkv.weight", "vision.ln.weight",
                     "vision.query_tokens", "vision.qformer.layers.0.cross_attn.k.weight", "video.frame_pos.weight",
                     "video.qformer.layers.1.cross_attn.v.weight", "video.proj.weight"] {
            #expect(pack.tensor(named: name) != nil, "\(name)")
        }
    }
}
