import VLCore

/// Produces the output bytes of one planned tensor in bounded chunks: model-parallel shards are
/// concatenated, rotary rows permuted, and the dtype converted, without materializing the tensor.
///
/// Memory: one scratch buffer of `chunkElements` output elements; sources are mapped views.
struct TensorStreamer {
    /// Output elements converted per chunk (256 KiB of f32).
    static let chunkElements = 1 << 16
    /// Source bytes copied out of the mapping at a time (a multiple of every element size).
    static let readChunk = 1 << 20

    let tensor: ConversionPlan.Tensor
    let allowOverflow: Bool

    /// Number of finite source values that became ±inf when narrowed.
    private(set) var overflowCount = 0

    init(tensor: ConversionPlan.Tensor, allowOverflow: Bool) {
        self.tensor = tensor
        self.allowOverflow = allowOverflow
    }

    /// Streams the tensor to `write`; returns the source views so the caller can release them.
    mutating func stream(_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> [TensorBytes] {
        let views = try tensor.sources.map { try $0.source.bytes(of: $0.entry) }
        let inType = tensor.sourceEntry.dtype
        let reordered = tensor.merge != nil || tensor.transform != nil
        // Mapped bytes are read through `TensorBytes.read` (copied under the SIGBUS guard), so a
        // source truncated by another process mid-conversion is an error naming it, not a crash.
        if !reordered {
            try views[0].read(chunk: Self.readChunk) { try convert($0, from: inType, write) }
        } else {
            let rows = tensor.shape[0]
            let rowBytes = tensor.shape.dropFirst().reduce(1, *) * inType.byteSize
            for r in 0..<rows {
                for segment in try rowSegments(sourceRow(r), rowBytes: rowBytes, shards: views.count) {
                    try views[segment.shard].read(segment.offset..<(segment.offset + segment.count), chunk: Self.readChunk) {
                        try convert($0, from: inType, write)
                    }
                }
            }
        }
        if overflowCount > 0 && !allowOverflow {
            throw ConvertError.narrowingOverflow(tensor: tensor.name, count: overflowCount, dtype: tensor.dtype.rawValue)
        }
        return views
    }

    /// The merged-matrix row that output row `r` takes, after the rotary permutation:
    /// HF row h·hd + c·hd/2 + i comes from Meta row h·hd + 2i + c (spec §5.2).
    private func sourceRow(_ r: Int) throws -> Int {
        guard tensor.transform == .rotaryMetaToHF else { return r }
        guard let heads = tensor.heads, heads > 0, tensor.shape[0] % heads == 0, (tensor.shape[0] / heads) % 2 == 0 else {
            throw ConvertError.invalidConfig(
                component: tensor.component, reason: "\(tensor.name): rows \(tensor.shape[0]) do not split into \(tensor.heads ?? 0) heads of even size")
        }
        return RotaryPermutation.metaRow(forHFRow: r, headDim: tensor.shape[0] / heads)
    }

    /// Where row `row` of the merged matrix lives: one shard's row (merge along dim 0, or none), or
    /// the same row of every shard side by side (merge along dim 1).
    private func rowSegments(_ row: Int, rowBytes: Int, shards: Int) throws -> [(shard: Int, offset: Int, count: Int)] {
        switch tensor.merge {
        case nil:
            return [(0, row * rowBytes, rowBytes)]
        case 0?:
            let perShard = tensor.shape[0] / shards
            return [(row / perShard, (row % perShard) * rowBytes, rowBytes)]
        case 1?:
            let part = rowBytes / shards
            return (0..<shards).map { ($0, row * part, part) }
        default:
            throw ConvertError.shardMismatch(tensor: tensor.name, reason: "merge dimension \(tensor.merge!) is not supported")
        }
    }

    /// Writes `bytes` (elements of `from`) as elements of the output dtype, chunk by chunk.
    private mutating func convert(_ bytes: UnsafeRawBufferPointer, from: DType, _ write: (UnsafeRawBufferPointer) throws -> Void) throws {
        let to = tensor.dtype
        if from == to {
            try write(bytes)
            return
        }
        let count = bytes.count / from.byteSize
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkElements * to.byteSize, alignment: 64)
        defer { scratch.deallocate() }
        var start = 0
        while start < count {
            let n = min(Self.chunkElements, count - start)
            for k in 0..<n {
                let x = Self.load(bytes, index: start + k, as: from)
                overflowCount += Self.store(x, into: scratch, index: k, as: to)
            }
            try write(UnsafeRawBufferPointer(rebasing: scratch[0..<(n * to.byteSize)]))
            start += n
        }
    }

    static func load(_ b: UnsafeRawBufferPointer, index: Int, as dtype: DType) -> Double {
        switch dtype {
        case .f64: b.loadUnaligned(fromByteOffset: index * 8, as: Double.self)
        case .f32: Double(b.loadUnaligned(fromByteOffset: index * 4, as: Float.self))
        case .f16: Double(FloatConversion.floatFromFloat16(b.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        case .bf16: Double(FloatConversion.floatFromBFloat16(b.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        default: preconditionFailure("only floating-point tensors are converted")
        }
    }

    /// Stores `x` as `dtype`; returns 1 when a finite value overflowed to infinity.
    static func store(_ x: Double, into b: UnsafeMutableRawBufferPointer, index: Int, as dtype: DType) -> Int {
        switch dtype {
        case .f64:
            b.storeBytes(of: x, toByteOffset: index * 8, as: Double.self)
            return 0
        case .f32:
            let f = Float(x)
            b.storeBytes(of: f, toByteOffset: index * 4, as: Float.self)
            return f.isInfinite && x.isFinite ? 1 : 0
        case .f16:
            // Via f32 first: f64 sources are rare and the double rounding is documented.
            let h = FloatConversion.float16FromFloat(Float(x))
            b.storeBytes(of: h, toByteOffset: index * 2, as: UInt16.self)
            return (h & 0x7FFF) == 0x7C00 && x.isFinite ? 1 : 0
        case .bf16:
            let h = FloatConversion.bfloat16FromFloat(Float(x))
            b.storeBytes(of: h, toByteOffset: index * 2, as: UInt16.self)
            return (h & 0x7FFF) == 0x7F80 && x.isFinite ? 1 : 0
        default:
            preconditionFailure("only floating-point tensors are converted")
        }
    }
}

/// The LLaMA q/k row permutation between Meta's interleaved rotary pairs and HF's rotate-half
/// halves, within each head of `headDim` rows (spec `video-llama.md` §5.2).
public enum RotaryPermutation {
    /// HF row h·hd + c·hd/2 + i ← Meta row h·hd + 2i + c.
    public static func metaRow(forHFRow r: Int, headDim: Int) -> Int {
        let h = r / headDim, j = r % headDim
        let c = j / (headDim / 2), i = j % (headDim / 2)
        return h * headDim + 2 * i + c
    }

    /// The inverse: Meta row h·hd + 2i + c ← HF row h·hd + c·hd/2 + i.
    public static func hfRow(forMetaRow r: Int, headDim: Int) -> Int {
        let h = r / headDim, j = r % headDim
        let i = j / 2, c = j % 2
        return h * headDim + c * (headDim / 2) + i
    }
}
