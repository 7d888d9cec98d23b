import Foundation
import VLCheckpoint
import VLCore
import VLPackFormat
import VLSafetensors

/// `vlpack export --to safetensors`: one safetensors file per component of a `.vlpack` file.
///
/// With `.source` names, every tensor gets back the name it had in its source checkpoint and the
/// documented transforms are undone (the Meta rotary permutation), so the bytes equal what the
/// source held — except where the conversion changed the dtype (`--dtype`), or merged Meta
/// model-parallel shards (exported whole, under the shard's name).
public struct Exporter {
    public enum Names: String, Sendable, CaseIterable {
        case source, canonical
    }

    public let file: VLPackFile
    public let maps: [ComponentFamily: ModelMap]

    public init(file: VLPackFile, maps: [ComponentFamily: ModelMap]) {
        self.file = file
        self.maps = maps
    }

    /// Writes `<dir>/<component>.safetensors` for every component; returns the paths written.
    public func exportSafetensors(to directory: String, names: Names) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        for (component, family) in components() {
            let map = maps[family]
            let tensors = file.tensors.filter { belongs($0.name, to: component, map: map) }
            guard !tensors.isEmpty else { continue }
            let path = (directory as NSString).appendingPathComponent("\(component).safetensors")
            var writer = SafetensorsWriter(path: path, metadata: ["format": "pt", "vlpack.component": component])
            for t in tensors {
                guard case let .plain(dtype) = t.storage else {
                    throw ConvertError.unsupportedDType(tensor: t.name, dtype: t.storage.name, target: "safetensors (quantized blocks)")
                }
                let name = names == .source ? (t.source?.name ?? t.name) : t.name
                let inverse = names == .source ? inverseTransform(of: t, map: map) : nil
                try writer.add(name: name, dtype: dtype, shape: t.shape) { [file] write in
                    let bytes = file.bytes(of: t)
                    // Read under the SIGBUS guard: an input truncated meanwhile throws, naming it.
                    guard let inverse, t.shape.count == 2 else { return try bytes.read { try write($0) } }
                    // Undo HF rotate-half: Meta row r is HF row hfRow(r).
                    let rowBytes = t.shape[1] * dtype.byteSize
                    for r in 0..<t.shape[0] {
                        let from = inverse(r) * rowBytes
                        try bytes.read(from..<(from + rowBytes), chunk: rowBytes) { try write($0) }
                    }
                }
            }
            try writer.finish()
            written.append(path)
        }
        return written
    }

    /// (component, family) in header order.
    func components() -> [(String, ComponentFamily)] {
        (file.parts.components.objectEntries ?? []).compactMap { name, value in
            value[key: "family"]?.string.flatMap(ComponentFamily.init(rawValue:)).map { (name, $0) }
        }
    }

    /// A tensor belongs to a component when its map produces that name (or it was carried under
    /// `extra.<component>.`); the tokenizer belongs to the LLM.
    func belongs(_ name: String, to component: String, map: ModelMap?) -> Bool {
        if name.hasPrefix("extra.\(component).") { return true }
        if name == TensorPrefix.tokenizerTensor { return component == ComponentName.llm.rawValue }
        return map?.tensors.contains { rule in (try? NamePattern(rule.target))?.match(name) != nil } ?? false
    }

    /// The row map undoing a transform the conversion applied, if any.
    func inverseTransform(of tensor: VLPackTensor, map: ModelMap?) -> ((Int) -> Int)? {
        guard let map, let source = tensor.source?.name,
            let rule = map.tensors.first(where: { $0.source.match(String(source.dropFirst(map.root.count))) != nil }),
            rule.transform == .rotaryMetaToHF
        else { return nil }
        let heads = (file.parts.components[key: map.component]?[key: "config"]?[key: "heads"]?.int) ?? 1
        let headDim = tensor.shape[0] / max(heads, 1)
        return { RotaryPermutation.hfRow(forMetaRow: $0, headDim: headDim) }
    }
}
