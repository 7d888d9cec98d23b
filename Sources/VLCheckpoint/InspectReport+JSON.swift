import VLCore

extension InspectReport {
    /// The `--json` object, schema 1. Later versions add fields; these are never removed or renamed.
    public func json() -> JSONValue {
        [
            "schema": 1,
            "path": JSONValue(path),
            "family": JSONValue(family.rawValue),
            "tensors": .array(tensors.map { t in
                var fields: [(key: String, value: JSONValue)] = [
                    ("name", JSONValue(t.name)),
                    ("dtype", JSONValue(t.dtype.rawValue)),
                    ("shape", .array(t.shape.map { JSONValue($0) })),
                    ("nbytes", JSONValue(t.nbytes)),
                ]
                if let h = t.sha256 { fields.append(("sha256", JSONValue(h))) }
                return .object(fields)
            }),
            "skipped": .array(skipped.map { ["path": JSONValue($0.path), "type": JSONValue($0.type)] }),
            "globals": .array(globals.map { JSONValue($0) }),
        ]
    }
}
