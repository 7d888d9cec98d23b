import VLCore
import VLSafetensors

/// Named float32 tensors in the order a pipeline produced them (`Formats/REFERENCE.md` names).
/// Names are unique.
public struct StageOutputs: Sendable {
    public private(set) var names: [String] = []
    private var tensors: [(name: String, shape: [Int], values: [Float])] = []

    public init() {}

    /// Adds a float32 tensor (C order). Throws if the name repeats or the shape does not match.
    public mutating func add(name: String, shape: [Int], values: [Float]) throws {
        guard !names.contains(name) else { throw SafetensorsWriteError.duplicateTensor(name: name) }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw SafetensorsWriteError.byteCountMismatch(tensor: name, expected: shape.reduce(1, *) * 4, written: values.count * 4)
        }
        names.append(name)
        tensors.append((name, shape, values))
    }

    /// The values of `name`, or nil.
    public func values(of name: String) -> [Float]? { tensors.first { $0.name == name }?.values }

    /// Writes every tensor (little-endian float32) atomically to `path` as safetensors.
    public func write(to path: String, metadata: [String: String]) throws {
        var writer = SafetensorsWriter(path: path, metadata: metadata)
        for t in tensors {
            let values = t.values.map { $0.bitPattern.littleEndian }
            try writer.add(name: t.name, dtype: .f32, shape: t.shape) { write in
                try values.withUnsafeBytes { try write($0) }
            }
        }
        try writer.finish()
    }
}
