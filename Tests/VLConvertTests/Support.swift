import Foundation
import Logging
import Testing
import VLCheckpoint
import VLConvert
import VLCore
import VLPackFormat
import VLSafetensors

enum Paths {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    static func fixture(_ relative: String) -> String { root.appendingPathComponent("Fixtures/\(relative)").path }

    /// A fresh empty folder under the temporary directory.
    static func scratch(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Converts inputs with the bundled maps; returns the opened output.
func convert(
    _ inputs: [String], output: String, configure: (inout ConversionPlan.Options) -> Void = { _ in },
    writeOptions: Converter.Options = .init()
) throws -> VLPackFile {
    var options = ConversionPlan.Options()
    configure(&options)
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    let plan = try ConversionPlan.make(inputs: inputs, maps: try ModelMap.bundled(), options: options, logger: logger)
    _ = try Converter(plan: plan, options: writeOptions, logger: logger).run(output: output)
    return try VLPackFile(path: output)
}

/// The tiny config the sample models were generated with.
func sampleOverrides() throws -> JSONValue {
    let file = try MappedFile(path: Paths.fixture("samples/convert-config.json"))
    return try JSONValue.parse(file.bytes)
}

let sampleInputs = ["eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "VL_tiny.pth", "imagebind_huge.pth", "AL_tiny.pth", "llama-hf"]
    .map { Paths.fixture("samples/\($0)") }

/// The rule name of whatever `body` throws (unwrapping `SourceError`), or nil.
func rule(of body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let e as SourceError {
        return e.rule
    } catch let e as any RuleError {
        return e.rule
    } catch {
        return "\(error)"
    }
}

/// A minimal EVA-shaped safetensors file (1 block, width 32, 28 px images), so tests can plant
/// values and extra tensors the real samples do not have.
func writeTinyEVA(to path: String, firstValue: Float = 0.5, extra: [String] = []) throws {
    var w = SafetensorsWriter(path: path)
    let width = 32, mlp = 64
    var shapes: [(String, [Int])] = [
        ("cls_token", [1, 1, width]), ("pos_embed", [1, 5, width]),
        ("patch_embed.proj.weight", [width, 3, 14, 14]), ("patch_embed.proj.bias", [width]),
        ("blocks.0.norm1.weight", [width]), ("blocks.0.norm1.bias", [width]),
        ("blocks.0.attn.qkv.weight", [3 * width, width]), ("blocks.0.attn.q_bias", [width]), ("blocks.0.attn.v_bias", [width]),
        ("blocks.0.attn.proj.weight", [width, width]), ("blocks.0.attn.proj.bias", [width]),
        ("blocks.0.norm2.weight", [width]), ("blocks.0.norm2.bias", [width]),
        ("blocks.0.mlp.fc1.weight", [mlp, width]), ("blocks.0.mlp.fc1.bias", [mlp]),
        ("blocks.0.mlp.fc2.weight", [width, mlp]), ("blocks.0.mlp.fc2.bias", [width]),
    ]
    shapes += extra.map { ($0, [4]) }
    for (name, shape) in shapes {
        var values = [Float](repeating: 0.25, count: shape.reduce(1, *))
        if name == "cls_token" { values[0] = firstValue }
        try w.add(name: name, dtype: .f32, shape: shape, contents: values.withUnsafeBytes { Array($0) })
    }
    try w.finish()
}

let tinyEVAConfig: JSONValue = ["eva_vit": ["image_size": 28, "patch_size": 14, "width": 32, "depth": 1, "heads": 1, "mlp": 64]]
