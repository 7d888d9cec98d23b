import Foundation
import Logging
import VLConvert
import VLCore
import VLPackFormat

/// The sample models of Fixtures/samples converted as `vlpack convert` does, and temporary paths:
/// shared by the suites that need a whole converted `.vlpack` (quantize, GGUF export, tokenizer).
public enum Samples {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/samples").path

    public static let inputs = ["eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "imagebind_huge.pth", "VL_tiny.pth", "AL_tiny.pth", "llama-hf"]
        .map { "\(root)/\($0)" }

    public static let logger: Logger = {
        var l = Logger(label: "test")
        l.logLevel = .warning
        return l
    }()

    public static func plan() throws -> ConversionPlan {
        var options = ConversionPlan.Options()
        options.configOverrides = try JSONValue.parse(String(contentsOfFile: "\(root)/convert-config.json", encoding: .utf8))
        return try ConversionPlan.make(inputs: inputs, maps: try ModelMap.bundled(), options: options, logger: logger)
    }

    /// A fresh temporary folder.
    public static func temporaryFolder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlquantize-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Converts every sample into one float `.vlpack`; optionally quantized on the way.
    public static func convert(to path: String, encoding: (any TensorEncoding)? = nil) throws -> VLPackWriteSummary {
        try Converter(plan: plan(), logger: logger).run(output: path, encoding: encoding).summary
    }
}
