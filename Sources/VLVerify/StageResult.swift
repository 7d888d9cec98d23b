import VLCore

/// One compared output.
public struct StageResult: Sendable {
    /// The reference tensor compared (`vision.ln.out`, ...).
    public let name: String
    /// What the stage was fed: the reference's own tensor (`vision.encoder.out`), or `chained from
    /// input.frames` for the end-to-end run.
    public let input: String
    public let chained: Bool
    public let metrics: ErrorMetrics
    public let tolerance: Tolerance
    public var pass: Bool { tolerance.accepts(metrics) }
    /// `PASS`, `FAIL`, or `REPORT` for a stage that is not judged.
    public var verdict: String { !tolerance.judged ? "REPORT" : pass ? "PASS" : "FAIL" }

    public var json: JSONValue {
        [
            "name": .string(chained ? "\(name) (chained)" : name), "input": .string(input), "max_abs": JSONValue(metrics.maxAbs),
            "rel_l2": JSONValue(metrics.relL2), "cosine": JSONValue(metrics.cosine), "pass": JSONValue(pass),
            "tolerance": tolerance.json,
        ]
    }
}
