import VLCore

/// A branch of the model: a chain of stages from one input (frames, later mel clips or token
/// embeddings) to the vectors the LLM reads. The stage list is the single definition that the
/// model's own forward pass, `vlpack embed`, `vlpack verify` and `vlpack bench` all iterate.
///
/// A branch value is immutable (config + weights over a mapped file) and shared; each run owns a
/// `RunState` (activations) and passes an `ExecutionContext` (threads), so several runs may use
/// one branch at once.
public protocol Branch: Sendable {
    associatedtype RunState: AnyObject
    var weights: Weights { get }
    /// The reference name of the branch input.
    static var input: StageName { get }
    /// Stages in order; stage i reads stage i−1's output (stage 0 reads `input`).
    static var stages: [BranchStage<Self>] { get }
    /// The shape of the input for `count` items (frames).
    func inputShape(count: Int) -> [Int]
    /// Fresh activations for one run.
    func makeRunState() -> RunState
}

/// One stage: its `Formats/REFERENCE.md` name, what it reads, the weights it reads, its output
/// shape from the config, and how to run it.
public struct BranchStage<Model: Branch>: Sendable {
    public let name: StageName
    /// The short label `vlpack bench` has always printed for the stage.
    public let label: String
    /// The canonical tensor prefixes whose weights the stage reads (for the tolerance rule).
    public let weights: [TensorPrefix]
    /// The output shape for `count` input items.
    public let outputShape: @Sendable (Model, _ count: Int) -> [Int]
    /// Runs the stage on its input stage's output.
    public let run: @Sendable (Model, _ input: [Float], _ count: Int, Model.RunState, ExecutionContext) throws(InferenceError) -> [Float]

    public init(
        name: StageName, label: String, weights: [TensorPrefix],
        outputShape: @escaping @Sendable (Model, _ count: Int) -> [Int],
        run: @escaping @Sendable (Model, _ input: [Float], _ count: Int, Model.RunState, ExecutionContext) throws(InferenceError) -> [Float]
    ) {
        self.name = name
        self.label = label
        self.weights = weights
        self.outputShape = outputShape
        self.run = run
    }
}

extension Branch {
    /// The input stage's name followed by every stage's, in chain order.
    public static var stageNames: [StageName] { [input] + stages.map(\.name) }

    /// The stage that produces `name`, with its index, or nil (also for the input).
    public static func stage(named name: StageName) -> (index: Int, stage: BranchStage<Self>)? {
        stages.firstIndex { $0.name == name }.map { ($0, stages[$0]) }
    }

    /// The shape of `name` (the input or any stage output) for `count` items.
    public func shape(of name: StageName, count: Int) -> [Int]? {
        name == Self.input ? inputShape(count: count) : Self.stage(named: name).map { $0.stage.outputShape(self, count) }
    }

    /// Runs every stage in order from `input`, handing each output to `each` (which may stop early by
    /// throwing). Returns the last output.
    @discardableResult
    public func run(
        _ input: [Float], count: Int, state: RunState, on context: ExecutionContext,
        each: (BranchStage<Self>, [Float]) throws -> Void = { _, _ in }
    ) throws -> [Float] {
        var x = input
        for stage in Self.stages {
            x = try stage.run(self, x, count, state, context)
            try each(stage, x)
        }
        return x
    }

    /// The whole branch, input → last stage output.
    public func forward(_ input: [Float], count: Int, state: RunState, on context: ExecutionContext) throws(InferenceError) -> [Float] {
        var x = input
        for stage in Self.stages { x = try stage.run(self, x, count, state, context) }
        return x
    }
}

extension Weights {
    /// y[R, out] = x[R, in] · W(prefix.weight)ᵀ + prefix.bias, for the branches' final projections
    /// (`llama_proj`, `audio_llama_proj`). `x` must hold whole rows; `rows` is only for the error.
    /// Cost: 2·R·in·out flops, one matrix of scratch.
    func project(
        _ x: [Float], prefix: TensorPrefix, in width: Int, out: Int, stage: StageName, rows: Int,
        scratch: FloatBuffer, on context: ExecutionContext
    ) throws(InferenceError) -> [Float] {
        guard !x.isEmpty, x.count % width == 0 else { throw .inputShapeMismatch(stage: stage.rawValue, expected: [rows, width], count: x.count) }
        let r = x.count / width
        var y = [Float](repeating: 0, count: r * out)
        let w = try matrix(prefix["weight"], rows: out, cols: width, into: scratch, on: context)
        let b = try vector(prefix["bias"], shape: [out])
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                Ops.linear(xp.baseAddress!, rows: r, in: width, weight: w, bias: b, out: out, into: yp.baseAddress!, on: context)
            }
        }
        return y
    }
}
