import VLCore
import VLPackFormat

/// A named acceptance rule for a stage, chosen by the storage of the weights the stage reads.
public struct Tolerance: Sendable, Equatable {
    public let name: String
    public let maxRelL2: Double?
    public let minCosine: Double?
    /// LLM rules: the largest mean KL(reference ‖ model) of the teacher-forced next-token
    /// distributions, in nats (what `llama-perplexity --kl-divergence` reports).
    public let maxMeanKL: Double?
    /// False for a stage that is printed for diagnosis only (see `reportedOnly`): it never fails.
    public let judged: Bool

    public init(name: String, maxRelL2: Double?, minCosine: Double?, maxMeanKL: Double? = nil, judged: Bool = true) {
        self.name = name
        self.maxRelL2 = maxRelL2
        self.minCosine = minCosine
        self.maxMeanKL = maxMeanKL
        self.judged = judged
    }

    /// Weights unchanged (F32, or F16/BF16 widened exactly): only implementation error is allowed.
    /// PyTorch's own 1-vs-2-thread spread on the sample is ~1e-7 (Formats/REFERENCE.md), far below.
    public static let float = Tolerance(name: "float", maxRelL2: 1e-4, minCosine: nil)
    /// 8-bit blocks (Q8_0; also Q6_K): storage loss, checked by direction.
    public static let q8 = Tolerance(name: "q8_0", maxRelL2: nil, minCosine: 0.9995)
    /// 4-bit blocks (Q4_0, Q4_1, Q4_K — the q4_k_m mix): storage loss, checked by direction.
    public static let q4 = Tolerance(name: "q4_k_m", maxRelL2: nil, minCosine: 0.995)

    /// Quantized LLM weights, judged at the LLM output by mean KL (Formats/REFERENCE.md, "LLM
    /// storage-loss rules"). llama.cpp's own Q8_0 / Q4_K_M reach 3.7e-4 / 0.0127 on LLaMA-2-7B and
    /// 1.36e-3 / 0.0313 on LLaMA-3-8B (its perplexity README, wikitext-2), and 6.8e-4 / 0.058 on the
    /// variance-preserving random 1.26 B model measured here; each bound sits ~10 % above the worst
    /// of its type, so a quantization as good as llama.cpp's passes and a broken one (a wrong scale or
    /// block order: KL of order 1) fails.
    public static let llmQ8 = Tolerance(name: "llm_q8_0", maxRelL2: nil, minCosine: nil, maxMeanKL: 1.5e-3)
    public static let llmQ4KM = Tolerance(name: "llm_q4_k_m", maxRelL2: nil, minCosine: nil, maxMeanKL: 0.065)

    /// The LLM's rule for weights that need `self` at a branch output.
    public var forLLM: Tolerance { self == .q8 ? .llmQ8 : self == .q4 ? .llmQ4KM : self }

    /// Storage-loss targets are defined at a branch's output (`video.out`, `audio.out`: what the LLM
    /// reads). An earlier stage of a quantized model is reported, not judged: the Q-Formers' pooling
    /// changes how the error reaches the output (full size, EVA in 4 bits: EVA output cosine 0.978,
    /// `vision.qformer.out` 0.974, `video.out` 0.980), so only the output says what the LLM gets.
    public var reportedOnly: Tolerance { Tolerance(name: name, maxRelL2: nil, minCosine: nil, judged: false) }

    public func accepts(_ m: ErrorMetrics) -> Bool {
        (maxRelL2.map { m.relL2 <= $0 } ?? true) && (minCosine.map { m.cosine >= $0 } ?? true)
    }

    /// The loosest rule the weights under `prefixes` in `pack` need.
    public static func forWeights(under prefixes: [TensorPrefix], in pack: VLPackFile) -> Tolerance {
        forStorages(pack.tensors(under: prefixes).map(\.storage))
    }

    /// The loosest rule any of `storages` needs.
    public static func forStorages<S: Sequence>(_ storages: S) -> Tolerance where S.Element == StorageType {
        var worst = Tolerance.float
        for s in storages {
            switch s {
            case .plain: break
            case .blocks(.q8_0), .blocks(.q6_k): if worst == .float { worst = .q8 }
            case .blocks(.q4_0), .blocks(.q4_1), .blocks(.q4_k): worst = .q4
            }
        }
        return worst
    }

    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("name", .string(name))]
        if let maxRelL2 { members.append(("rel_l2_max", JSONValue(maxRelL2))) }
        if let minCosine { members.append(("cosine_min", JSONValue(minCosine))) }
        if let maxMeanKL { members.append(("mean_kl_max", JSONValue(maxMeanKL))) }
        if !judged { members.append(("judged", false)) }
        return .object(members)
    }
}

extension Tolerance {
    /// Preprocessed frames (`input.frames`): the media parity target is 0.5 levels (of 255) mean
    /// absolute difference from the official loader's pixels; after /255 and /std (≈0.27) that is ≈0.0073 in
    /// normalized units against values of RMS ≈1, so a relative L2 of 0.01.
    public static let preprocessing = Tolerance(name: "frames", maxRelL2: 1e-2, minCosine: nil)

    /// Log-mel clips (`input.mel`): the media parity target is max abs ≤ 1e-3 and mean abs ≤ 1e-4
    /// (normalized log-mel units, values of RMS ≈ 1) from the official loader; as one relative L2, 1e-3.
    public static let melPreprocessing = Tolerance(name: "mel", maxRelL2: 1e-3, minCosine: nil)

    /// The rule for a branch input computed by VLMedia.
    public static func preprocessing(of input: StageName) -> Tolerance { input == .inputMel ? melPreprocessing : preprocessing }
}
