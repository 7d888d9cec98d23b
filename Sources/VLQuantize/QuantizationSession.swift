import VLConvert
import VLCore
import VLPackFormat
import VLQuant

/// One quantization run: the policy's decisions for every tensor, the per-tensor encoder shared by
/// `vlpack quantize` (a `.vlpack` in) and `vlpack convert --quantize` (checkpoints in, through the
/// converter's `TensorEncoding` hook), and what each tensor measured.
///
/// Memory: one tensor's source bytes (mapped, released after use) plus `StreamingQuantizer`'s
/// tiles; the results hold a few numbers per tensor. Not thread-safe (it uses threads inside).
public final class QuantizationSession {
    /// What happened to one tensor.
    public struct TensorResult: Sendable {
        public let decision: QuantDecision
        public let elements: Int
        /// Bytes before and after.
        public let inputBytes: Int
        public let outputBytes: Int
        /// Error sums; `nil` when the tensor was kept.
        public let error: QuantErrorReport.Accumulator?

        public var report: QuantErrorReport? { error.map { $0.report(bitsPerWeight: decision.chosen?.bitsPerWeight ?? 0) } }
    }

    public let policy: QuantPolicy
    public let threads: Int
    public private(set) var decisions: [QuantDecision] = []
    public private(set) var results: [TensorResult] = []

    public init(policy: QuantPolicy, threads: Int) {
        self.policy = policy
        self.threads = max(1, threads)
    }

    /// Decides every tensor; returns the header bytes to reserve for the error figures.
    @discardableResult
    func decide(_ tensors: [(name: String, storage: StorageType, shape: [Int])]) throws -> Int {
        decisions = try policy.decide(tensors)
        results = []
        return decisions.filter { $0.chosen != nil }.count * QuantDecision.metricsSlack
    }

    /// Encodes tensor `index` (already decided): quantized tiles when its decision says so, else the
    /// bytes unchanged. `produce` streams the plain bytes of `storage`. Returns its `quant` member.
    func encode(
        index: Int, storage: StorageType, shape: [Int],
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        write: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> JSONValue {
        let decision = decisions[index]
        let elements = shape.reduce(1, *)
        let inputBytes = storage.byteCount(shape: shape) ?? 0
        guard let type = decision.chosen, case let .plain(dtype) = storage else {
            // Both closures are only called during this call; the compiler cannot see that.
            try withoutActuallyEscaping(write) { w in try produce(w) }
            results.append(TensorResult(decision: decision, elements: elements, inputBytes: inputBytes, outputBytes: inputBytes, error: nil))
            return decision.quantJSON()
        }
        let quantizer = try StreamingQuantizer(type: type, dtype: dtype, rowLength: shape.last ?? 0, threads: threads)
        try withoutActuallyEscaping(write) { w in try produce { chunk in try quantizer.consume(chunk, emit: w) } }
        let report = try quantizer.finish(emit: write)
        results.append(
            TensorResult(
                decision: decision, elements: elements, inputBytes: inputBytes,
                outputBytes: type.byteCount(elements: elements) ?? 0, error: quantizer.accumulated))
        return decision.quantJSON(error: report)
    }

    /// The report over everything encoded so far.
    public var report: QuantizationReport { QuantizationReport(results: results, recipe: policy.recipe) }

    /// `metadata.quantization` of the output: the recipe and the overrides, for provenance.
    var metadataEntry: JSONValue {
        [
            "recipe": JSONValue(policy.recipe.rawValue),
            "tensor_type": .array(policy.overrides.map { JSONValue("\($0.pattern)=\($0.type.rawValue)") }),
            "keep": .array(policy.keep.map { JSONValue($0) }),
        ]
    }

    // MARK: - vlpack quantize

    /// Quantizes every tensor of `input` into a new `.vlpack` at `output` (atomic: temp file, fsync,
    /// rename; nothing is left behind on failure; `output` may not be `input`). Components,
    /// tokenizer, provenance and sources are carried over; `metadata.quantization` records the
    /// recipe. Already-quantized tensors are copied. `progress` gets (input bytes done, total, tensor).
    public func quantize(
        _ input: VLPackFile, output: String,
        progress: ((Int, Int, String) -> Void)? = nil
    ) throws -> VLPackWriteSummary {
        let slack = try decide(input.tensors.map { ($0.name, $0.storage, $0.shape) })
        let plan = zip(input.tensors, decisions).map { t, d in
            VLPackTensorPlan(name: t.name, storage: d.storage, shape: t.shape, source: t.source, quant: d.quantJSON())
        }
        var parts = input.parts
        var metadata = (parts.metadata.objectEntries ?? []).filter { $0.key != "quantization" }
        metadata.append(("quantization", metadataEntry))
        parts.metadata = .object(metadata)
        let writer = try VLPackWriter(
            path: output, plan: plan, parts: parts,
            alignment: VLPackAlignment(rawValue: input.preamble.alignment) ?? .cacheLine,
            inputs: [input.path], headerSlack: slack)
        let total = input.tensors.reduce(0) { $0 + $1.nbytes }
        var done = 0
        for (index, tensor) in input.tensors.enumerated() {
            let bytes = input.bytes(of: tensor)
            var quant: JSONValue?
            try writer.write(tensor: tensor.name) { write in
                quant = try encode(
                    index: index, storage: tensor.storage, shape: tensor.shape,
                    produce: { sink in
                        // Pieces of whole progress steps, copied under the SIGBUS guard (an input truncated
                        // meanwhile throws, naming it); the quantizer re-tiles them.
                        try bytes.read(chunk: Self.progressStep) { piece in
                            try sink(piece)
                            done += piece.count
                            progress?(done, total, tensor.name)
                        }
                        if bytes.count == 0 { progress?(done, total, tensor.name) }
                    }, write: write)
            }
            if let quant { try writer.setQuant(quant, forTensor: tensor.name) }
            bytes.releasePages()
        }
        return try writer.finish()
    }

    /// Input bytes between progress callbacks.
    static let progressStep = 16 << 20
}

// MARK: - vlpack convert --quantize

extension QuantizationSession: TensorEncoding {
    public func plan(_ tensors: [ConversionPlan.Tensor]) throws -> (tensors: [(storage: StorageType, quant: JSONValue?)], headerSlack: Int) {
        let slack = try decide(tensors.map { ($0.name, .plain($0.dtype), $0.shape) })
        return (decisions.map { ($0.storage, $0.quantJSON()) }, slack)
    }

    public func encode(
        _ tensor: ConversionPlan.Tensor, index: Int,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        write: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> JSONValue? {
        try encode(index: index, storage: .plain(tensor.dtype), shape: tensor.shape, produce: produce, write: write)
    }
}
