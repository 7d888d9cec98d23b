import Foundation
import VLCore
import VLPackFormat

/// What `vlpack inspect` reports for one path: every tensor (optionally hashed), the skipped
/// non-tensor objects, the pickle globals and the detected component family.
public struct InspectReport: Sendable {
    public struct Tensor: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let nbytes: Int
        /// SHA-256 of the C-contiguous little-endian bytes, when hashing was asked for.
        public let sha256: String?
    }

    public let path: String
    public let family: ComponentFamily
    public let tensors: [Tensor]
    public let skipped: [SkippedObject]
    public let globals: [String]
    /// For `.vlpack` files: components with their configs, tokenizer, provenance, converter and
    /// metadata, and the per-tensor source and quantization.
    public let vlpack: VLPackFile?

    /// Builds the report. Without `hash` no tensor data is read; with it, every tensor is streamed
    /// through SHA-256 once (zero-copy for stored contiguous tensors).
    public init(source: any TensorSource, path: String, hash: Bool, filter: Regex<AnyRegexOutput>? = nil) throws {
        self.path = path
        family = ComponentFamily.detect(source.entries)
        let selected = source.entries.filter { entry in filter.map { entry.name.contains($0) } ?? true }
        tensors = try selected.map { entry in
            let digest: String? =
                try hash
                ? attributing(to: entry.storage.file) {
                    try source.bytes(of: entry).withUnsafeBytes { SHA256.hex(of: $0) }
                } : nil
            return Tensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, nbytes: entry.byteCount, sha256: digest)
        }
        skipped = source.skipped
        globals = source.globals
        vlpack = source as? VLPackFile
    }

    /// Parameters (elements) and bytes per dtype, in `DType` order.
    public var totalsByDType: [(dtype: DType, elements: Int, bytes: Int)] {
        DType.allCases.compactMap { d in
            let ts = tensors.filter { $0.dtype == d }
            guard !ts.isEmpty else { return nil }
            return (d, ts.reduce(0) { $0 + $1.nbytes / d.byteSize }, ts.reduce(0) { $0 + $1.nbytes })
        }
    }

    /// The human-readable table printed by `vlpack inspect`.
    public func table() -> String {
        var out = "\(path)\n"
        if let v = vlpack {
            out += "  format: vlpack v\(VLPackPreamble.version), alignment \(v.preamble.alignment)\n"
            for (name, c) in v.parts.components.objectEntries ?? [] {
                out += "  component \(name): \(c[key: "family"]?.string ?? "?") from \(c[key: "input"]?.string ?? "?")\n"
                out += "    config: \((c[key: "config"] ?? .null).serialized())\n"
            }
            for s in v.parts.provenance[key: "sources"]?.array ?? [] {
                out += "  source: \(s[key: "name"]?.string ?? "?") (\(s[key: "size"]?.int ?? 0) bytes, sha256 \(s[key: "sha256"]?.string ?? "?"))\n"
            }
        } else {
            out += "  family: \(family.rawValue)\n"
        }
        let nameWidth = min(max(tensors.map(\.name.count).max() ?? 4, 4), 72)
        let dtypeWidth = 7
        out += "  " + "name".padded(nameWidth) + "  " + "dtype".padded(dtypeWidth) + "  " + "shape".padded(20) + "  bytes\n"
        for t in tensors {
            // .vlpack rows: the storage type and logical shape (block types list as U8 entries).
            let row = vlpack?.tensor(named: t.name)
            let shape = "[" + (row?.shape ?? t.shape).map(String.init).joined(separator: ", ") + "]"
            out += "  " + t.name.padded(nameWidth) + "  " + (row?.storage.name ?? t.dtype.rawValue).padded(dtypeWidth) + "  " + shape.padded(20)
            out += "  " + String(t.nbytes)
            if let h = t.sha256 { out += "  " + h }
            out += "\n"
            if let q = row?.quant, let reason = q[key: "reason"]?.string {
                out += "    quant: \(q[key: "type"]?.string ?? "?") (requested \(q[key: "requested"]?.string ?? "?")): \(reason)"
                if let cos = q[key: "cosine"]?.double, let rel = q[key: "rel_l2"]?.double { out += String(format: "; rel_l2 %.4g, cosine %.6g", rel, cos) }
                out += "\n"
            }
        }
        out += "  summary: \(tensors.count) tensors\n"
        for (d, elements, bytes) in totalsByDType {
            out += "    \(d.rawValue.padded(dtypeWidth)) \(elements) parameters, \(ByteCountFormatting.human(bytes))\n"
        }
        if !skipped.isEmpty {
            out += "  skipped (not tensors): \(skipped.count)\n"
            for s in skipped { out += "    \(s.path.isEmpty ? "(root)" : s.path)  \(s.type)\n" }
        }
        if !globals.isEmpty {
            out += "  pickle globals: \(globals.joined(separator: ", "))\n"
        }
        return out
    }
}

enum ByteCountFormatting {
    static func human(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.2f", value) + " " + units[unit]
    }
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
