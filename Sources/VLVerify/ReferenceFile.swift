import VLCore
import VLInference
import VLSafetensors

/// A reference file (Formats/REFERENCE.md): float32 safetensors whose tensors carry stage names.
public struct ReferenceFile {
    public let file: SafetensorsFile

    public init(path: String) throws { file = try SafetensorsFile(path: path) }

    /// The tensor `name` as f32 values with its shape, a leading batch dimension of 1 removed when the
    /// rank is above `rank`. nil when absent. Cost: one copy of the tensor.
    public func tensor(_ name: String, rank: Int) throws -> (values: [Float], shape: [Int])? {
        guard let entry = file.entries.first(where: { $0.name == name }) else { return nil }
        guard entry.dtype == .f32 else { throw VerifyError.referenceNotF32(tensor: name, dtype: entry.dtype.rawValue) }
        var shape = entry.shape
        if shape.count == rank + 1 && shape.first == 1 { shape.removeFirst() }
        guard shape.count == rank else { throw VerifyError.referenceRankMismatch(tensor: name, shape: entry.shape, rank: rank) }
        let values = try file.bytes(of: entry).withUnsafeBytes { raw in
            (0..<entry.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
        return (values, shape)
    }

    /// `name` read at the rank `branch` gives it.
    public func tensor<B: Branch>(_ name: StageName, of branch: B) throws -> (values: [Float], shape: [Int])? {
        guard let rank = branch.shape(of: name, count: 1)?.count else { return nil }
        return try tensor(name.rawValue, rank: rank)
    }
}
