import VLCore

/// Reads numbers from a component's `config` object (written by `vlpack convert`).
struct ConfigReader {
    let component: ComponentName
    let json: JSONValue

    init(_ weights: Weights, _ component: ComponentName) throws(InferenceError) {
        self.component = component
        json = try weights.config(component)
    }

    func int(_ key: String) throws(InferenceError) -> Int {
        guard let v = json[key: key]?.int else { throw .missingConfig(component: component.rawValue, key: key) }
        return v
    }

    func float(_ key: String) throws(InferenceError) -> Float { Float(try double(key)) }

    func double(_ key: String) throws(InferenceError) -> Double {
        guard let v = json[key: key]?.double ?? json[key: key]?.int.map(Double.init) else {
            throw .missingConfig(component: component.rawValue, key: key)
        }
        return v
    }

    /// An int that must be ≥ 1.
    func positive(_ key: String) throws(InferenceError) -> Int {
        let v = try int(key)
        guard v > 0 else { throw .configNotPositive(component: component.rawValue, key: key, value: v) }
        return v
    }
}

/// `eva_vit` config: EVA ViT-g/14 as BLIP-2 instantiates it (spec §2.1, §3.1).
public struct EVAConfig: Sendable, Equatable {
    public var imageSize: Int, patchSize: Int, width: Int, depth: Int, heads: Int, mlp: Int
    public var lnEps: Float
    /// Patches per side (16 at 224/14).
    public var grid: Int { imageSize / patchSize }
    /// Patches + cls (257 at 224/14).
    public var tokens: Int { grid * grid + 1 }
    public var headDim: Int { width / heads }

    public init(_ weights: Weights) throws(InferenceError) {
        let c = try ConfigReader(weights, .evaViT)
        imageSize = try c.int("image_size"); patchSize = try c.int("patch_size"); width = try c.int("width")
        depth = try c.int("depth"); heads = try c.int("heads"); mlp = try c.int("mlp")
        lnEps = (try? c.float("ln_eps")) ?? 1e-6
        guard imageSize % patchSize == 0 else {
            throw .configNotDivisible(component: c.component.rawValue, key: "image_size", value: imageSize, by: "patch_size", divisor: patchSize)
        }
        guard width % heads == 0 else {
            throw .configNotDivisible(component: c.component.rawValue, key: "width", value: width, by: "heads", divisor: heads)
        }
    }
}

/// One BERT Q-Former's config (`blip2_qformer`, `video_branch`, `audio_branch`; spec §3.3).
public struct QFormerConfig: Sendable, Equatable {
    public var hidden: Int, heads: Int, layers: Int, intermediate: Int, encoderWidth: Int
    /// Layer i has cross-attention when i % crossAttentionFreq == 0 (BLIP-2: 2, video/audio: 1).
    public var crossAttentionFreq: Int
    public var queries: Int
    public var lnEps: Float
    public var headDim: Int { hidden / heads }

    public init(_ weights: Weights, component: ComponentName) throws(InferenceError) {
        let c = try ConfigReader(weights, component)
        hidden = try c.int("hidden"); heads = try c.int("heads"); layers = try c.int("layers")
        intermediate = try c.int("intermediate"); encoderWidth = try c.int("encoder_width")
        crossAttentionFreq = (try? c.int("cross_attention_freq")) ?? 1
        queries = try c.int("queries")
        lnEps = (try? c.float("ln_eps")) ?? 1e-12
        guard hidden % heads == 0 else {
            throw .configNotDivisible(component: component.rawValue, key: "hidden", value: hidden, by: "heads", divisor: heads)
        }
        guard crossAttentionFreq > 0 else {
            throw .configNotPositive(component: component.rawValue, key: "cross_attention_freq", value: crossAttentionFreq)
        }
    }

    public func hasCrossAttention(layer: Int) -> Bool { layer % crossAttentionFreq == 0 }
}

/// `imagebind_audio` config: ImageBind-huge's audio tower (spec §2.5, §3.5) and the log-mel clips it
/// reads (spec §4.3).
public struct ImageBindAudioConfig: Sendable, Equatable {
    public var width: Int, depth: Int, heads: Int, mlp: Int, outDim: Int
    /// The stem: Conv2d(1 → width, kernel × kernel, stride) over (mel bins × frames).
    public var melBins: Int, targetLength: Int, kernel: Int, stride: Int
    /// Block LayerNorm (1e-6), the stem's LayerNorm (torch default 1e-5), the head's LayerNorm (1e-6).
    public var lnEps: Float, stemLNEps: Float, headLNEps: Float
    /// How the clips are cut and normalized: 16 kHz, 2 s, 8 clips, (x + 4.268) / 9.138 for the
    /// released models.
    public var sampleRate: Int, clipDuration: Double, clips: Int, melMean: Double, melStd: Double

    /// Patch rows (mel axis) and columns (time axis): 12 × 19 at 128 × 204.
    public var gridHeight: Int { (melBins - kernel) / stride + 1 }
    public var gridWidth: Int { (targetLength - kernel) / stride + 1 }
    /// Patches + cls (229 at 128 × 204).
    public var tokens: Int { gridHeight * gridWidth + 1 }
    public var headDim: Int { width / heads }

    public init(_ weights: Weights) throws(InferenceError) {
        let c = try ConfigReader(weights, .imageBindAudio)
        width = try c.positive("width"); depth = try c.positive("depth"); heads = try c.positive("heads")
        mlp = try c.positive("mlp"); outDim = try c.positive("out_dim")
        melBins = try c.positive("mel_bins"); targetLength = try c.positive("target_length")
        kernel = try c.positive("kernel"); stride = try c.positive("stride")
        lnEps = try c.float("ln_eps"); stemLNEps = try c.float("stem_ln_eps"); headLNEps = try c.float("head_ln_eps")
        sampleRate = try c.positive("sample_rate"); clips = try c.positive("clips")
        clipDuration = try c.double("clip_duration"); melMean = try c.double("mel_mean"); melStd = try c.double("mel_std")
        guard width % heads == 0 else {
            throw .configNotDivisible(component: c.component.rawValue, key: "width", value: width, by: "heads", divisor: heads)
        }
        for (key, value) in [("mel_bins", melBins), ("target_length", targetLength)] where value < kernel {
            throw .configBelowMinimum(component: c.component.rawValue, key: key, value: value, minimum: kernel, because: "the stem's kernel")
        }
    }
}
