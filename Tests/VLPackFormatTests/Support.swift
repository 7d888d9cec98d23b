import Foundation
import VLCore
import VLTestSupport
@testable import VLPackFormat

/// A fresh, empty folder under the system temporary directory; remove it with `defer`.
func makeFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-fmt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The suites' name for the shared fixed-seed generator.
typealias SeededGenerator = SplitMix64

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// A plan exercising every storage type, 0-d, empty and odd-sized tensors, with deterministic bytes.
struct Sample {
    let plan: [VLPackTensorPlan]
    let contents: [String: [UInt8]]

    static func make(seed: UInt64 = 1) -> Sample {
        var plan: [VLPackTensorPlan] = [
            VLPackTensorPlan(name: "tokenizer.model", dtype: .u8, shape: [517]),
            VLPackTensorPlan(name: "scalar", dtype: .f32, shape: []),
            VLPackTensorPlan(name: "empty", dtype: .f16, shape: [0, 7]),
            VLPackTensorPlan(name: "empty.too", dtype: .i64, shape: [3, 0]),
            VLPackTensorPlan(
                name: "llama.embed_tokens.weight", dtype: .bf16, shape: [13, 9],
                source: TensorOrigin(file: "consolidated.00.pth", name: "tok_embeddings.weight", dtype: "BF16")),
            VLPackTensorPlan(name: "q.q8", storage: .blocks(.q8_0), shape: [3, 64], quant: ["method": "Q8_0"]),
            VLPackTensorPlan(name: "q.q4_0", storage: .blocks(.q4_0), shape: [2, 32]),
            VLPackTensorPlan(name: "q.q4_1", storage: .blocks(.q4_1), shape: [1, 1, 32]),
            VLPackTensorPlan(name: "q.q4_k", storage: .blocks(.q4_k), shape: [2, 256]),
            VLPackTensorPlan(name: "q.q6_k", storage: .blocks(.q6_k), shape: [256]),
            VLPackTensorPlan(name: "ünïcode/名前", dtype: .u8, shape: [1]),
        ]
        for (i, d) in DType.allCases.enumerated() {
            plan.append(VLPackTensorPlan(name: "plain.\(d.rawValue)", dtype: d, shape: [2, 3 + i]))
        }
        var contents: [String: [UInt8]] = [:]
        for (i, p) in plan.enumerated() {
            contents[p.name] = randomBytes(p.storage.byteCount(shape: p.shape)!, seed: seed &+ UInt64(i))
        }
        return Sample(plan: plan, contents: contents)
    }

    static let parts = VLPackHeaderParts(
        converter: ["name": "vlpack", "version": "0.0.0-test"],
        components: ["llm": ["family": "llama", "config": ["dim": 4096, "n_layers": 32, "norm_eps": 1e-06]]],
        tokenizer: ["model_tensor": "tokenizer.model", "added_tokens": [["id": 32000, "content": "<ImageHere>"]]],
        provenance: ["sources": [["name": "consolidated.00.pth", "size": 123, "sha256": .string(String(repeating: "ab", count: 32))]]],
        metadata: ["note": "test \"quoted\" \u{1}"])

    /// Writes the sample to `path`, each tensor in chunks of at most 7 bytes (chunking must not matter).
    @discardableResult
    func write(to path: String, alignment: VLPackAlignment = .cacheLine) throws -> VLPackWriteSummary {
        let writer = try VLPackWriter(path: path, plan: plan, parts: Sample.parts, alignment: alignment)
        for p in plan {
            let bytes = contents[p.name]!
            try writer.write(tensor: p.name) { write in
                try bytes.withUnsafeBytes { b in
                    var i = 0
                    repeat {
                        let n = min(7, b.count - i)
                        try write(UnsafeRawBufferPointer(rebasing: b[i..<(i + n)]))
                        i += n
                    } while i < b.count
                }
            }
        }
        return try writer.finish()
    }
}

/// Builds a file by hand around `json` with correct preamble and header CRCs, so that a test can
/// make exactly one thing wrong.
func craftFile(json: String, data: [UInt8], alignment: Int = 64, patch: ((inout [UInt8]) -> Void)? = nil) -> [UInt8] {
    let header = Array(json.utf8)
    let dataOffset = VLPackPreamble.dataOffset(headerLength: header.count, alignment: alignment)!
    let crc = header.withUnsafeBytes { CRC32.checksum($0) }
    let pre = VLPackPreamble(
        headerLength: header.count, headerCRC32: crc, alignment: alignment, dataOffset: dataOffset,
        dataLength: data.count)
    var bytes = pre.encoded()
    patch?(&bytes)
    // Re-seal the preamble after a patch so only the patched field is wrong.
    let pcrc = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
    withUnsafeBytes(of: pcrc.littleEndian) { bytes.replaceSubrange(60..<64, with: $0) }
    return bytes + header + [UInt8](repeating: 0x20, count: dataOffset - 64 - header.count) + data
}

func crcHexOf(_ bytes: [UInt8]) -> String {
    crcHex(bytes.withUnsafeBytes { CRC32.checksum($0) })
}
