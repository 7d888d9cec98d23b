import Foundation
import Logging
import VLConvert
import VLCore
import VLPackFormat
import VLQuantize

/// The sample models of Fixtures/samples and temporary paths.
enum Samples {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/samples").path

    static let inputs = ["eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "imagebind_huge.pth", "VL_tiny.pth", "AL_tiny.pth", "llama-hf"]
        .map { "\(root)/\($0)" }

    static let logger: Logger = {
        var l = Logger(label: "test")
        l.logLevel = .warning
        return l
    }()

    static func plan() throws -> ConversionPlan {
        var options = ConversionPlan.Options()
        options.configOverrides = try JSONValue.parse(String(contentsOfFile: "\(root)/convert-config.json", encoding: .utf8))
        return try ConversionPlan.make(inputs: inputs, maps: try ModelMap.bundled(), options: options, logger: logger)
    }

    /// A fresh temporary folder.
    static func temporaryFolder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlquantize-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Converts every sample into one float `.vlpack`; optionally quantized on the way.
    static func convert(to path: String, encoding: (any TensorEncoding)? = nil) throws -> VLPackWriteSummary {
        try Converter(plan: plan(), logger: logger).run(output: path, encoding: encoding).summary
    }
}
