import Foundation
import Testing
import VLConvert
import VLPackFormat

/// Converts the bundled vision samples and checks the canonical names the inference code reads.
@Suite struct SampleConversionSmokeTests {
    @Test func visionSamplesConvertToCanonicalNames() throws {
        let out = (try Paths.scratch("smoke") as NSString).appendingPathComponent("vision.vlpack")
        defer { try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        let overrides = try sampleOverrides()
        let inputs = ["eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "VL_tiny.pth"].map { Paths.fixture("samples/\($0)") }
        let pack = try convert(inputs, output: out) { $0.configOverrides = overrides }
        for name in [
            "vision.encoder.cls_token", "vision.encoder.blocks.1.attn.qkv.weight", "vision.ln.weight",
            "vision.query_tokens", "vision.qformer.layers.0.cross_attn.k.weight", "video.frame_pos.weight",
            "video.qformer.layers.1.cross_attn.v.weight", "video.proj.weight",
        ] {
            #expect(pack.tensor(named: name) != nil, "\(name)")
        }
    }
}
