import Foundation
import VLCore
import VLQuant

/// The error report of a quantization run: every tensor, and a summary per component.
public struct QuantizationReport: Sendable {
    /// Totals over the tensors of one component.
    public struct ComponentSummary: Sendable {
        public let component: String
        public let quantized: Int
        public let kept: Int
        /// Tensors per chosen type, in `QuantType` order.
        public let types: [(type: QuantType, count: Int)]
        /// Error over all quantized values of the component together (`nil` when none was).
        public let error: QuantErrorReport?
        public let inputBytes: Int
        public let outputBytes: Int
    }

    public let results: [QuantizationSession.TensorResult]
    public let recipe: QuantRecipe

    /// Components in order of first appearance.
    public var components: [ComponentSummary] {
        var order: [String] = []
        var groups: [String: [QuantizationSession.TensorResult]] = [:]
        for r in results {
            let c = QuantPolicy.component(of: r.decision.name)
            if groups[c] == nil { order.append(c) }
            groups[c, default: []].append(r)
        }
        return order.map { c in
            let rs = groups[c]!
            let quantized = rs.filter { $0.decision.chosen != nil }
            var sums = QuantErrorReport.Accumulator()
            var bits = 0
            for r in quantized {
                if let e = r.error { sums.merge(e) }
                bits += r.outputBytes * 8
            }
            let types = QuantType.allCases.compactMap { t in
                let n = quantized.filter { $0.decision.chosen == t }.count
                return n > 0 ? (t, n) : nil
            }
            let error = quantized.isEmpty ? nil : sums.report(bitsPerWeight: Double(bits) / Double(max(1, sums.count)))
            return ComponentSummary(
                component: c, quantized: quantized.count, kept: rs.count - quantized.count, types: types,
                error: error, inputBytes: rs.reduce(0) { $0 + $1.inputBytes },
                outputBytes: rs.reduce(0) { $0 + $1.outputBytes })
        }
    }

    /// One line per component, e.g.
    /// `llm: 14 quantized (Q4_K 8, Q6_K 6), 5 kept; rmse 0.00123 max_abs 0.0456 rel_l2 0.0321 cosine 0.99948; 4.91 bpw; 1.00 MiB → 0.31 MiB`.
    public func summaryLines() -> [String] {
        components.map { c in
            var line = "\(c.component): \(c.quantized) quantized"
            if !c.types.isEmpty { line += " (" + c.types.map { "\($0.type.rawValue) \($0.count)" }.joined(separator: ", ") + ")" }
            line += ", \(c.kept) kept"
            if let e = c.error {
                line += String(
                    format: "; rmse %.3g max_abs %.3g rel_l2 %.4f cosine %.5f; %.2f bpw", e.rmse, e.maxAbsError, e.relativeL2,
                    e.cosineSimilarity, e.bitsPerWeight)
            }
            line += String(format: "; %.2f MiB → %.2f MiB", Double(c.inputBytes) / 1048576, Double(c.outputBytes) / 1048576)
            return line
        }
    }

    /// Per-tensor table (name, type, rmse, rel_l2, cosine, reason), then the summary lines.
    public func table() -> String {
        let width = min(max(results.map(\.decision.name.count).max() ?? 4, 4), 64)
        var out = "name".padding(toLength: width, withPad: " ", startingAt: 0) + "  type  " + "rmse        rel_l2    cosine    reason\n"
        for r in results {
            let name = r.decision.name.count > width ? String(r.decision.name.suffix(width)) : r.decision.name
            out += name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
            out += r.decision.storage.name.padding(toLength: 4, withPad: " ", startingAt: 0) + "  "
            if let e = r.report {
                out += String(format: "%-10.3g  %-8.4f  %-8.5f  ", e.rmse, e.relativeL2, e.cosineSimilarity)
            } else {
                out += "-           -         -         "
            }
            out += r.decision.reason + "\n"
        }
        out += summaryLines().map { "summary " + $0 + "\n" }.joined()
        return out
    }

    /// `{"recipe", "tensors": [{"name", "component", "role", "type", "requested", "reason", "elements",
    /// "rmse"?, "max_abs"?, "rel_l2"?, "cosine"?, "bpw"?}], "components": [{"component", "quantized", "kept",
    /// "types": {...}, "rmse"?, ..., "input_bytes", "output_bytes"}]}`.
    public func json() -> JSONValue {
        func metrics(_ e: QuantErrorReport?) -> [(key: String, value: JSONValue)] {
            guard let e else { return [] }
            return [
                ("rmse", QuantDecision.rounded(e.rmse)), ("max_abs", QuantDecision.rounded(e.maxAbsError)),
                ("rel_l2", QuantDecision.rounded(e.relativeL2)), ("cosine", QuantDecision.rounded(e.cosineSimilarity)),
                ("bpw", QuantDecision.rounded(e.bitsPerWeight)),
            ]
        }
        let tensors: [JSONValue] = results.map { r in
            .object(
                [
                    ("name", JSONValue(r.decision.name)), ("component", JSONValue(QuantPolicy.component(of: r.decision.name))),
                    ("role", JSONValue(r.decision.role.rawValue)), ("type", JSONValue(r.decision.storage.name)),
                    ("requested", JSONValue(r.decision.requested?.rawValue ?? "keep")), ("reason", JSONValue(r.decision.reason)),
                    ("elements", JSONValue(r.elements)),
                ] + metrics(r.report))
        }
        let components: [JSONValue] = components.map { c in
            .object(
                [
                    ("component", JSONValue(c.component)), ("quantized", JSONValue(c.quantized)), ("kept", JSONValue(c.kept)),
                    ("types", .object(c.types.map { ($0.type.rawValue, JSONValue($0.count)) })),
                ] + metrics(c.error)
                    + [("input_bytes", JSONValue(c.inputBytes)), ("output_bytes", JSONValue(c.outputBytes))])
        }
        return ["recipe": JSONValue(recipe.rawValue), "tensors": .array(tensors), "components": .array(components)]
    }
}
