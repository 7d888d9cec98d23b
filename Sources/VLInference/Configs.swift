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

    func float(_ key: String) throws(InferenceError) -> Float {
        guard let v = json[key: key]?.double ?? json[key: key]?.int.map(Double.init) else {
            throw .missingConfig(component: component.rawValue, key: key)
        }
        return Float(v)
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
