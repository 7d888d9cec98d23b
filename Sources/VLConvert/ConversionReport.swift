import Foundation
import VLCore
import VLPackFormat

/// The `convert --json` report: per tensor source → canonical name and dtype change, skipped items
/// with reasons, totals, the sources' and the output's SHA-256.
public struct ConversionReport {
    public let plan: ConversionPlan
    public let result: Converter.Result
    public let seconds: Double

    public init(plan: ConversionPlan, result: Converter.Result, seconds: Double) {
        self.plan = plan
        self.result = result
        self.seconds = seconds
    }

    /// `hashingOutput` reads the whole output once more to report its SHA-256 (the header is
    /// written last, at the front, so the digest cannot be computed while writing).
    public func json(hashingOutput: Bool) throws -> JSONValue {
        let bytes = plan.tensors.reduce(0) { $0 + $1.byteCount }
        var output: [(key: String, value: JSONValue)] = [("path", JSONValue(result.summary.path)), ("size", JSONValue(result.summary.fileSize))]
        if hashingOutput { output.append(("sha256", JSONValue(try ProvenanceHasher.hash(result.summary.path).sha256))) }
        return [
            "schema": 1,
            "output": .object(output),
            "components": .array(
                plan.components.map { c in
                    ["name": JSONValue(c.name), "family": JSONValue(c.family.rawValue), "input": JSONValue(c.input), "config": .object(c.config)]
                }),
            "template": plan.template.map { JSONValue($0) } ?? .null,
            "sources": .array(result.sources.map { ["path": JSONValue($0.path), "size": JSONValue($0.size), "sha256": JSONValue($0.sha256)] }),
            "tensors": .array(
                plan.tensors.map { t in
                    [
                        "source": JSONValue(t.sourceEntry.name), "file": JSONValue(t.sources.map(\.entry.storage.file).joined(separator: "+")),
                        "name": JSONValue(t.name), "source_dtype": JSONValue(t.sourceEntry.dtype.rawValue), "dtype": JSONValue(t.dtype.rawValue),
                        "shape": .array(t.shape.map { JSONValue($0) }),
                        "transform": t.transform.map { JSONValue($0.rawValue) } ?? (t.merge != nil ? "merge" : .null),
                    ]
                }),
            "skipped": .array(plan.skipped.map { ["file": JSONValue($0.file), "name": JSONValue($0.name), "reason": JSONValue($0.reason)] }),
            "totals": [
                "tensors": JSONValue(plan.tensors.count), "bytes": JSONValue(bytes), "skipped": JSONValue(plan.skipped.count),
                "seconds": JSONValue(seconds),
            ],
        ]
    }

    public func summaryLine() -> String {
        let bytes = plan.tensors.reduce(0) { $0 + $1.byteCount }
        let names = plan.components.map(\.name).joined(separator: ", ")
        return String(
            format: "wrote %@: %d tensors (%.2f GB) from %d components (%@), %d items skipped, %.1f s\n",
            result.summary.path as NSString, plan.tensors.count, Double(bytes) / 1e9, plan.components.count,
            names as NSString, plan.skipped.count, seconds)
    }
}
