import Foundation
import Logging
import Testing
import VLConvert
import VLCore
import VLInference
import VLPackFormat
import VLQuant

/// Sample model files shared by the tests: converted once per process from Fixtures/samples.
enum Samples {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let reference = "\(root)/Fixtures/reference/sample_vision.safetensors"
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vlinference-tests-\(getpid())").path

    /// The vision components converted as `vlpack convert` does (EVA Linear/Conv stay F16).
    static let keep: String = convert(dtype: .keep, name: "keep")
    /// Every float widened to F32 (the zero-copy weight path).
    static let f32: String = convert(dtype: .f32, name: "f32")
    /// Matrices re-encoded as Q8_0 / as the q4_k_m mix (Q4_K where rows hold 256-blocks, else Q4_1).
    static let q8: String = requantize(keep, to: .q8_0, name: "q8_0")
    static let q4: String = requantize(keep, to: .q4_k, name: "q4_k_m")

    static func convert(dtype: ConversionPlan.DTypeRule, name: String) -> String {
        let s = "\(root)/Fixtures/samples"
        let out = "\(folder)/sample-\(name).vlpack"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var options = ConversionPlan.Options()
            options.dtype = dtype
            options.configOverrides = try JSONValue.parse(String(contentsOfFile: "\(s)/convert-config.json", encoding: .utf8))
            let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            let plan = try ConversionPlan.make(inputs: ["\(s)/eva_vit_g.pth", "\(s)/blip2_pretrained_flant5xxl.pth", "\(s)/VL_tiny.pth"],
                                               maps: try ModelMap.bundled(), options: options, logger: logger)
            _ = try Converter(plan: plan, logger: logger).run(output: out)
        } catch {
            fatalError("converting the samples failed: \(error)")
        }
        return out
    }

    /// Copies `source` with every 2-D `.weight` matrix quantized to `type` (or its fallback for the
    /// row length; rows that fit no block type stay as they are). Test support standing in for
    /// `vlpack quantize`.
    static func requantize(_ source: String, to type: QuantType, name: String) -> String {
        let out = "\(folder)/sample-\(name).vlpack"
        do {
            try requantize(source, to: type, output: out)
        } catch {
            fatalError("requantizing failed: \(error)")
        }
        return out
    }

    static func requantize(_ source: String, to type: QuantType, output: String) throws {
        let pack = try VLPackFile(path: source)
        let weights = Weights(pack: pack)
        func target(_ t: VLPackTensor) -> QuantType? {
            guard t.shape.count == 2, t.name.hasSuffix(".weight"), t.storage != .plain(.u8) else { return nil }
            return QuantType.best(for: type, rowLength: t.shape[1])
        }
        let plan = pack.tensors.map { t in
            target(t).map { VLPackTensorPlan(name: t.name, storage: .blocks(BlockFormat(rawValue: $0.rawValue)!), shape: t.shape) }
                ?? VLPackTensorPlan(name: t.name, storage: t.storage, shape: t.shape)
        }
        let writer = try VLPackWriter(path: output, plan: plan, parts: pack.parts)
        let scratch = FloatBuffer()
        for t in pack.tensors {
            if let q = target(t) {
                let values = try weights.matrix(t.name, rows: t.shape[0], cols: t.shape[1], into: scratch)
                var blocks = [UInt8](repeating: 0, count: t.shape[0] * t.shape[1] / q.elementsPerBlock * q.bytesPerBlock)
                try blocks.withUnsafeMutableBytes { b in
                    try Quantizer.quantizeRows(q, rows: UnsafeBufferPointer(start: values, count: t.shape[0] * t.shape[1]),
                                               rowLength: t.shape[1], into: b, threads: 2)
                }
                try writer.write(tensor: t.name, contents: blocks)
            } else {
                try writer.write(tensor: t.name, contents: pack.bytes(of: t).buffer)
            }
        }
        _ = try writer.finish()
    }
}
