import VLCore
import VLPackFormat

extension InspectReport {
    /// The `--json` object, schema 1. Later versions add fields; these are never removed or renamed.
    public func json() -> JSONValue {
        var object: [(key: String, value: JSONValue)] = [
            ("schema", 1),
            ("path", JSONValue(path)),
            ("family", JSONValue(family.rawValue)),
            (
                "tensors",
                .array(
                    tensors.map { t in
                        var fields: [(key: String, value: JSONValue)] = [
                            ("name", JSONValue(t.name)),
                            ("dtype", JSONValue(t.dtype.rawValue)),
                            ("shape", .array(t.shape.map { JSONValue($0) })),
                            ("nbytes", JSONValue(t.nbytes)),
                        ]
                        if let h = t.sha256 { fields.append(("sha256", JSONValue(h))) }
                        if let row = vlpack?.tensor(named: t.name) {
                            if let s = row.source {
                                fields.append(("source", ["file": JSONValue(s.file), "name": JSONValue(s.name), "dtype": JSONValue(s.dtype)]))
                            }
                            if let q = row.quant { fields.append(("quant", q)) }
                        }
                        return .object(fields)
                    })
            ),
            ("skipped", .array(skipped.map { ["path": JSONValue($0.path), "type": JSONValue($0.type)] })),
            ("globals", .array(globals.map { JSONValue($0) })),
        ]
        if let v = vlpack {
            object += [
                ("format", ["name": "vlpack", "version": JSONValue(Int(VLPackPreamble.version)), "alignment": JSONValue(v.preamble.alignment)]),
                ("converter", v.parts.converter), ("components", v.parts.components), ("tokenizer", v.parts.tokenizer),
                ("provenance", v.parts.provenance), ("metadata", v.parts.metadata),
            ]
        }
        return .object(object)
    }
}
