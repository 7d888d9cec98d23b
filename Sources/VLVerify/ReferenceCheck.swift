import VLCore
import VLInference
import VLPackFormat

/// Runs a branch against a reference file: every stage from the reference's own input, and the whole
/// chain from the earliest tensor present, so an error is attributed to its stage and the compound
/// error is still seen. Works for any `Branch` by iterating its stage list.
public struct ReferenceCheck<B: Branch> {
    public let branch: B
    /// The branch output, where storage-loss tolerances are judged (`Tolerance.reportedOnly`).
    public let output: StageName

    public init(branch: B, output: StageName) {
        self.branch = branch
        self.output = output
    }

    public func passes(_ results: [StageResult]) -> Bool { Verdict.passes(results, output: output) }

    /// The rule for a comparison at `stage` over the weights `stages` read (the loosest storage wins;
    /// storage loss is judged only at the output).
    func tolerance(at stage: StageName, reading stages: ArraySlice<BranchStage<B>>) -> Tolerance {
        let rule = Tolerance.forWeights(under: stages.flatMap(\.weights), in: branch.weights.pack)
        return rule == .float || stage == output ? rule : rule.reportedOnly
    }

    /// Compares every stage the reference allows. Throws when the reference holds no stage that fixes
    /// the item count (rank ≥ 3), or a tensor's size disagrees with the model.
    public func run(reference: ReferenceFile, state: B.RunState, on context: ExecutionContext) throws -> [StageResult] {
        let names = B.stageNames
        var tensors: [StageName: [Float]] = [:]
        var count: Int?
        for name in names {
            if let (v, shape) = try reference.tensor(name, of: branch) {
                tensors[name] = v
                if shape.count >= 3 { count = count ?? shape[0] }
            }
        }
        let counted = names.filter { (branch.shape(of: $0, count: 1)?.count ?? 0) >= 3 }
        guard let t = count else { throw VerifyError.noStageInReference(expected: counted.map(\.rawValue)) }
        // names[i] is produced by B.stages[i - 1].
        func compare(_ index: Int, _ got: [Float], input: String, chained: Bool, start: Int) throws -> StageResult {
            let name = names[index]
            guard let want = tensors[name], want.count == got.count else {
                throw VerifyError.referenceSizeMismatch(stage: name.rawValue, reference: tensors[name]?.count ?? 0, model: got.count)
            }
            return StageResult(
                name: name.rawValue, input: input, chained: chained, metrics: ErrorMetrics(got: got, want: want),
                tolerance: tolerance(at: name, reading: B.stages[start..<index]))
        }
        func run(_ index: Int, _ input: [Float]) throws -> [Float] {
            try B.stages[index - 1].run(branch, input, t, state, context)
        }

        var results: [StageResult] = []
        // Each stage from the reference's own input.
        for i in 1..<names.count {
            guard let input = tensors[names[i - 1]], tensors[names[i]] != nil else { continue }
            results.append(try compare(i, try run(i, input), input: names[i - 1].rawValue, chained: false, start: i - 1))
        }
        // The chain from the earliest tensor present, compared at every later stage present.
        let present = names.indices.filter { tensors[names[$0]] != nil }
        if let start = present.first, let last = present.last, last > start + 1 {
            var x = tensors[names[start]]!
            for i in (start + 1)...last {
                x = try run(i, x)
                if i > start + 1, tensors[names[i]] != nil {
                    results.append(try compare(i, x, input: "chained from \(names[start].rawValue)", chained: true, start: start))
                }
            }
        }
        return results
    }

    /// Compares the tensors of an `embed` output with a reference file, name by name: the input
    /// (preprocessing tolerance), and every stage the model computed from its own input (each chained
    /// from the input, so its tolerance is the loosest of all weights up to it).
    public func compare(embedding: ReferenceFile, with reference: ReferenceFile) throws -> [StageResult] {
        var results: [StageResult] = []
        for (index, name) in B.stageNames.enumerated() {
            guard let (got, gotShape) = try embedding.tensor(name, of: branch),
                let (want, wantShape) = try reference.tensor(name, of: branch)
            else { continue }
            guard gotShape == wantShape else {
                throw VerifyError.embeddingShapeMismatch(stage: name.rawValue, embedding: gotShape, reference: wantShape)
            }
            let tolerance = index == 0 ? Tolerance.preprocessing(of: name) : self.tolerance(at: name, reading: B.stages[0..<index])
            results.append(
                StageResult(
                    name: name.rawValue, input: "embedding", chained: index > 0,
                    metrics: ErrorMetrics(got: got, want: want), tolerance: tolerance))
        }
        guard !results.isEmpty else { throw VerifyError.noSharedStage }
        return results
    }
}

extension ReferenceCheck {
    /// A check judged at the branch's last stage (`video.out`, `audio.out`: what the LLM reads).
    public init(branch: B) { self.init(branch: branch, output: B.stages[B.stages.count - 1].name) }

    /// Every stage of `branch` against `reference`, on a fresh run state.
    public static func run(branch: B, reference: ReferenceFile, on context: ExecutionContext = .standard) throws -> [StageResult] {
        try ReferenceCheck(branch: branch).run(reference: reference, state: branch.makeRunState(), on: context)
    }
}

/// The vision branch's check: `video.out` is where storage loss is judged.
public enum VisionReferenceCheck {
    /// The branch output's reference name.
    public static let output = StageName.videoOut.rawValue

    public static func check(_ branch: VideoBranch) -> ReferenceCheck<VideoBranch> { ReferenceCheck(branch: branch, output: .videoOut) }

    public static func passes(_ results: [StageResult]) -> Bool { Verdict.passes(results, output: .videoOut) }

    /// Every stage of `branch` against `reference`, on a fresh run state.
    public static func run(
        branch: VideoBranch, reference: ReferenceFile,
        on context: ExecutionContext = .standard
    ) throws -> [StageResult] {
        try ReferenceCheck.run(branch: branch, reference: reference, on: context)
    }
}

/// The verdict over a branch's comparisons.
public enum Verdict {
    /// Every comparison passes, at least one is judged, and when quantized stages were only reported,
    /// `output` was judged (otherwise the storage loss went unchecked).
    public static func passes(_ results: [StageResult], output: StageName) -> Bool {
        let outputJudged = results.contains { $0.name == output.rawValue && $0.tolerance.judged }
        return !results.isEmpty && results.allSatisfy(\.pass) && (outputJudged || results.allSatisfy(\.tolerance.judged))
    }
}
