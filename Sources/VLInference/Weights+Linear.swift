import CBLAS
import CVLKernels
import VLCore
import VLPackFormat
import VLQuant

extension Weights {
    /// y[r] = W[r, :]·x for rows [begin, end), reading the stored bytes of W directly.
    typealias VectorKernel = @Sendable (_ w: UnsafeRawPointer, _ x: VectorInput, _ y: UnsafeMutablePointer<Float>, _ cols: Int, Range<Int>) -> Void

    /// The one-token input of a kernel: f32 for float weights, 8-bit blocks for block weights.
    struct VectorInput: @unchecked Sendable {
        let floats: UnsafePointer<Float>
        let quantized: UnsafePointer<vl_q8_activations>?
    }

    /// How the activations must be given to a storage's kernel: f32, or 8-bit blocks of `block` values.
    enum VectorInputKind: Hashable { case floats, quantized(block: Int) }

    /// The matrix-vector kernel of a storage type and the input it takes: the block formats multiply
    /// 8-bit activation blocks by their integer values (as ggml's vec_dot_*_q8_* do), F16 and BF16
    /// widen in registers and multiply in f32. nil: none (F32 is used in place by sgemm).
    static func vectorKernel(for storage: StorageType) -> (VectorKernel, VectorInputKind)? {
        typealias BlockKernel =
            @convention(c) (
                UnsafePointer<UInt8>?, UnsafePointer<vl_q8_activations>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64
            ) -> Void
        typealias HalfKernel = @convention(c) (UnsafePointer<UInt16>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64, Int64) -> Void
        func blocks(_ f: @escaping BlockKernel, activationBlock: Int = 32) -> (VectorKernel, VectorInputKind) {
            let kernel: VectorKernel = { w, x, y, cols, rows in
                f(w.assumingMemoryBound(to: UInt8.self), x.quantized, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
            }
            return (kernel, .quantized(block: activationBlock))
        }
        func halves(_ f: @escaping HalfKernel) -> (VectorKernel, VectorInputKind) {
            let kernel: VectorKernel = { w, x, y, cols, rows in
                f(w.assumingMemoryBound(to: UInt16.self), x.floats, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
            }
            return (kernel, .floats)
        }
        switch storage {
        case .blocks(.q8_0): return blocks(vl_gemv_q8_0_q8)
        case .blocks(.q4_0): return blocks(vl_gemv_q4_0_q8)
        case .blocks(.q4_1): return blocks(vl_gemv_q4_1_q8)
        case .blocks(.q4_k): return blocks(vl_gemv_q4_k_q8, activationBlock: 256)
        case .blocks(.q6_k): return blocks(vl_gemv_q6_k_q8, activationBlock: 256)
        case .plain(.f16): return halves(vl_gemv_f16)
        case .plain(.bf16): return halves(vl_gemv_bf16)
        default: return nil
        }
    }

    /// y[L, rows] = x[L, cols] · Wᵀ with W = `name` [rows, cols] (no bias).
    ///
    /// One input row (one-token decoding) over block, F16 or BF16 weights reads them straight from the
    /// mapping, or from the Q4_0x8 copy for Q4_0 (`vectorKernel`, `regroupedQ4_0`): the weights are
    /// streamed once and nothing is converted into memory (rows split between the workers). For block
    /// weights x is first rounded to 8-bit blocks (O(cols), a few KB), so the result carries that rounding
    /// (|x̂ − x| ≤ d_x/2 per value) on top of the weights' own loss. Several rows over stored weights
    /// (prefill) convert W tile by tile and run sgemm per tile (`tiledLinear`), never the whole matrix;
    /// F32 is used in place. Cost: 2·L·rows·cols flops; the fused path reads rows·cols·bits/8 bytes of
    /// weights.
    public func linear(
        _ name: String, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int,
        into y: UnsafeMutablePointer<Float>, scratch: FloatBuffer, on context: ExecutionContext
    ) throws(InferenceError) {
        try linears([Product(name: name, rows: rows, into: y)], cols: cols, x: x, count: L, scratch: scratch, on: context)
    }

    /// One matrix of `linears`: y[L, rows] = x · W(name)ᵀ.
    public struct Product {
        public let name: String
        public let rows: Int
        public let y: UnsafeMutablePointer<Float>

        public init(name: String, rows: Int, into y: UnsafeMutablePointer<Float>) { (self.name, self.rows, self.y) = (name, rows, y) }
    }

    /// `linear` for several matrices over the same input x[L, cols] (a layer's q/k/v, gate/up). For one
    /// input row, x is rounded to each 8-bit block size the matrices need once, and every matrix's rows
    /// are shared out between the workers in one parallel region rather than one per matrix (each
    /// region costs a dispatch and a join, ~10 µs, against ~0.1-1 ms of streaming per matrix).
    public func linears(
        _ products: [Product], cols: Int, x: UnsafePointer<Float>, count L: Int,
        scratch: FloatBuffer, on context: ExecutionContext
    ) throws(InferenceError) {
        var fused: [(VectorKernel, VectorInputKind, SharedPointer<UnsafeRawPointer>, unit: Int, Product)] = []
        for product in products {
            let t = try tensor(product.name, shape: [product.rows, cols])
            let regrouped = Self.isRegrouped(t) ? regroupedQ4_0(t, on: context) : nil
            if L == 1, let (kernel, kind) = Self.vectorKernel(for: t.storage) {
                let stored = regrouped ?? UnsafeRawPointer(pack.bytes(of: t).buffer.baseAddress!)
                // Parts start on whole groups of rows: the regrouped kernel needs them, and F16's
                // four-row passes then cover the same rows whatever the split, so a result does not
                // depend on the thread count.
                let unit = product.rows % Self.regroupedRows == 0 ? Self.regroupedRows : 1
                fused.append((regrouped == nil ? kernel : Self.regroupedKernel, kind, SharedPointer(stored), unit, product))
            } else if let regrouped, L > 1, prefillProducts == .integer, vl_cpu_has_avx512_vnni() != 0 {
                regroupedPrefill(regrouped, rows: product.rows, cols: cols, x: x, count: L, into: product.y, on: context)
            } else if t.storage == .blocks(.q8_0), L > 1, product.rows % Self.regroupedRows == 0, prefillProducts == .integer,
                vl_cpu_has_avx512_vnni() != 0
            {
                q8_0Prefill(t, rows: product.rows, cols: cols, x: x, count: L, into: product.y, scratch: scratch, on: context)
            } else if L == 1 || t.storage == .plain(.f32) {
                let w = try matrix(product.name, rows: product.rows, cols: cols, into: scratch, on: context)
                Ops.linear(x, rows: L, in: cols, weight: w, bias: nil, out: product.rows, into: product.y, on: context)
            } else {
                try tiledLinear(t, regrouped: regrouped, rows: product.rows, cols: cols, x: x, count: L, into: product.y, scratch: scratch, on: context)
            }
        }
        guard !fused.isEmpty else { return }
        // cols is a multiple of every weight block (each storage was validated against its shape), and
        // an activation block equals its weight block or 32.
        let inputs = Dictionary(uniqueKeysWithValues: Set(fused.map(\.1)).map { ($0, QuantizedInput(x, cols: cols, kind: $0)) })
        let rows = fused.reduce(0) { $0 + $1.4.rows }
        // More parts than workers, taken as workers come free (`share`), so a core that is slowed (a
        // shared machine) takes fewer of them instead of holding up the join.
        let parts = rows >= 256 ? min(context.threads * Self.partsPerWorker, rows / 64) : 1
        let work = fused.map { kernel, kind, stored, unit, product in
            (kernel, inputs[kind]!.input, stored, unit, product.rows, SharedPointer(product.y))
        }
        withExtendedLifetime(inputs) {
            context.share(parts) { part in
                for (kernel, input, stored, unit, rows, y) in work {
                    let units = rows / unit
                    kernel(stored.pointer, input, y.pointer, cols, units * part / parts * unit..<units * (part + 1) / parts * unit)
                }
            }
        }
    }

    /// x[count, cols] as a kernel of `kind` takes it: the f32 values in place, or each row rounded to
    /// 8-bit blocks (O(count·cols), into memory this object owns; rows shared out between the workers
    /// when there are many). `input` is the first row's.
    private final class QuantizedInput: @unchecked Sendable {
        private let q: UnsafeMutablePointer<Int8>?, d: UnsafeMutablePointer<Float>?, sums: UnsafeMutablePointer<Int16>?
        /// One per row, pointing into q, d and sums.
        let activations: UnsafeMutablePointer<vl_q8_activations>?
        let input: VectorInput

        init(_ x: UnsafePointer<Float>, count: Int = 1, cols: Int, kind: VectorInputKind, on context: ExecutionContext = .init(threads: 1)) {
            guard case .quantized(let block) = kind else {
                (q, d, sums, activations) = (nil, nil, nil, nil)
                input = VectorInput(floats: x, quantized: nil)
                return
            }
            let (q, d, sums) = (
                UnsafeMutablePointer<Int8>.allocate(capacity: count * cols), UnsafeMutablePointer<Float>.allocate(capacity: count * cols / block),
                UnsafeMutablePointer<Int16>.allocate(capacity: count * cols / 16)
            )
            let activations = UnsafeMutablePointer<vl_q8_activations>.allocate(capacity: count)
            for row in 0..<count {
                (activations + row).initialize(to: vl_q8_activations(q: q + row * cols, d: d + row * cols / block, sums: sums + row * cols / 16))
            }
            let (source, rows) = (SharedPointer(x), SharedPointer(activations))
            context.chunks(count, grain: 16) { range in
                for row in range {
                    let a = rows.pointer[row]
                    vl_quantize_q8_activations(
                        source.pointer + row * cols, Int64(cols), Int64(block), UnsafeMutablePointer(mutating: a.q),
                        UnsafeMutablePointer(mutating: a.d), UnsafeMutablePointer(mutating: a.sums))
                }
            }
            (self.q, self.d, self.sums, self.activations) = (q, d, sums, activations)
            input = VectorInput(floats: x, quantized: UnsafePointer(activations))
        }

        deinit {
            for p in [
                q.map(UnsafeMutableRawPointer.init), d.map(UnsafeMutableRawPointer.init), sums.map(UnsafeMutableRawPointer.init),
                activations.map(UnsafeMutableRawPointer.init),
            ] {
                p?.deallocate()
            }
        }
    }

    /// Parts per worker of a one-token product (`linears`).
    static let partsPerWorker = 4

    /// The one-token kernel over a Q4_0x8 copy (`regroupedQ4_0`): rows in whole groups of 8.
    static let regroupedKernel: VectorKernel = { w, x, y, cols, rows in
        vl_gemv_q4_0x8_q8(w.assumingMemoryBound(to: UInt8.self), x.quantized, y, Int64(cols), Int64(rows.lowerBound), Int64(rows.upperBound))
    }

    /// Prefill over a Q4_0x8 copy with integer products (vl_gemm_q4_0x8_q8, AVX-512 VNNI): the L input
    /// rows rounded to 8-bit blocks of 32 as for one token (as ggml does for Q4_0 matrices; the result
    /// carries that rounding), then whole groups of rows shared out between the workers. Measured on
    /// the 1 B shape faster than widening tiles to f32 for sgemm, whose f32 products bound that path.
    /// Memory: L·cols·(1 + 4/32 + 2/16) bytes of rounded input.
    private func regroupedPrefill(
        _ w: UnsafeRawPointer, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int, into y: UnsafeMutablePointer<Float>,
        on context: ExecutionContext
    ) {
        let input = QuantizedInput(x, count: L, cols: cols, kind: .quantized(block: 32), on: context)
        let groups = rows / Self.regroupedRows
        let parts = min(groups, context.threads * Self.partsPerWorker)
        let (weights, output, activations) = (SharedPointer(w.assumingMemoryBound(to: UInt8.self)), SharedPointer(y), SharedPointer(input.activations!))
        withExtendedLifetime(input) {
            context.share(parts) { part in
                vl_gemm_q4_0x8_q8(
                    weights.pointer, activations.pointer, Int64(L), output.pointer, Int64(rows), Int64(cols),
                    Int64(groups * part / parts * Self.regroupedRows), Int64(groups * (part + 1) / parts * Self.regroupedRows))
            }
        }
    }

    /// Prefill over Q8_0 weights with integer products (AVX-512 VNNI): the input rows rounded to 8-bit
    /// blocks as for Q4_0 (`regroupedPrefill`), and W regrouped tile by tile (prefillTileRows rows, each
    /// worker its own tiles) into Q8_0x8u, its bytes with the sign bit flipped so that `vpdpbusd` takes
    /// them as unsigned, then the Q4_0x8 GEMM over them. The regrouping reads the mapping once per
    /// prefill; nothing is kept. Memory: threads × prefillTileRows × cols × 17/16 bytes of tiles, and the
    /// rounded input, L·cols·1.25 bytes.
    private func q8_0Prefill(
        _ t: VLPackTensor, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int, into y: UnsafeMutablePointer<Float>,
        scratch: FloatBuffer, on context: ExecutionContext
    ) {
        let input = QuantizedInput(x, count: L, cols: cols, kind: .quantized(block: 32), on: context)
        let tiles = PrefillTiles(rows: rows, on: context)
        let tileFloats = (Int(vl_q8_0x8u_bytes(Int64(tiles.tileRows), Int64(cols))) + 63) / 64 * 16  // whole cache lines
        let buffer = SharedPointer(UnsafeMutableRawPointer(scratch.reserve(tiles.workers * tileFloats)))
        let source = SharedPointer(pack.bytes(of: t).buffer.baseAddress!)
        let (output, activations) = (SharedPointer(y), SharedPointer(input.activations!))
        let rowBytes = cols / QuantType.q8_0.elementsPerBlock * QuantType.q8_0.bytesPerBlock
        withExtendedLifetime(input) {
            context.run(tiles.workers) { worker in
                let tile = (buffer.pointer + worker * tileFloats * 4).assumingMemoryBound(to: UInt8.self)
                for range in tiles.ranges(of: worker) {
                    vl_q8_0x8u_repack(
                        (source.pointer + range.lowerBound * rowBytes).assumingMemoryBound(to: UInt8.self), tile, Int64(cols), 0,
                        Int64(range.count / Self.regroupedRows))
                    vl_gemm_q8_0x8u_q8(tile, activations.pointer, Int64(L), output.pointer + range.lowerBound, Int64(rows), Int64(cols), 0, Int64(range.count))
                }
            }
        }
    }

    /// Rows of W converted per prefill tile and worker. Each sgemm call packs all of x again (L × cols,
    /// 8.5 % of a 7 B F16 prefill in a profile with the earlier 4 MiB tiles: 256 rows at 4096 columns,
    /// 93 at 11008), so fewer, larger tiles pack it less often: 512 rows measured 12.0-12.9 tokens/s
    /// against 11.7-12.1 for the 7 B Q8_0 pp512 (alternating runs; F16 and the 1 B shape inside the
    /// noise). The scratch stays a few tiles however large the matrix (the 7 B lm_head as one f32
    /// matrix would be 500 MB): threads × prefillTileRows × cols floats, 45 MB for two workers at 11008
    /// columns.
    static let prefillTileRows = 512

    /// A prefill matrix's rows in tiles of prefillTileRows (the last may be shorter), dealt out to the
    /// workers: worker w takes tiles w, w + workers, … and converts each into its own scratch.
    struct PrefillTiles: Sendable {
        let rows: Int, tileRows: Int, count: Int, workers: Int

        init(rows: Int, on context: ExecutionContext) {
            self.rows = rows
            tileRows = min(rows, Weights.prefillTileRows)
            count = (rows + tileRows - 1) / tileRows
            workers = max(1, min(context.threads, count))
        }

        /// The row ranges of the tiles `worker` takes, in order.
        func ranges(of worker: Int) -> [Range<Int>] {
            stride(from: worker, to: count, by: workers).map { ($0 * tileRows)..<min(($0 + 1) * tileRows, rows) }
        }
    }

    /// Prefill over stored (non-F32) weights: tiles of rows of W converted to f32 and multiplied by
    /// sgemm, y[:, tile] = x · tileᵀ, the tiles shared out between the workers (each converts and
    /// multiplies its own), from the Q4_0x8 copy when there is one.
    /// Memory: threads × prefillTileRows × cols floats of scratch.
    private func tiledLinear(
        _ t: VLPackTensor, regrouped: UnsafeRawPointer?, rows: Int, cols: Int, x: UnsafePointer<Float>, count L: Int,
        into y: UnsafeMutablePointer<Float>, scratch: FloatBuffer, on context: ExecutionContext
    ) throws(InferenceError) {
        let tiles = PrefillTiles(rows: rows, on: context)
        let buffer = SharedPointer(scratch.reserve(tiles.workers * tiles.tileRows * cols))
        let input = SharedPointer(x), output = SharedPointer(y)
        let regroupedBytes = regrouped.map { SharedPointer($0.assumingMemoryBound(to: UInt8.self)) }
        _ = BLAS.singleThreaded
        try context.runThrowing(tiles.workers) { (worker) throws(InferenceError) in
            let tile = buffer.pointer + worker * tiles.tileRows * cols
            for range in tiles.ranges(of: worker) {
                let (first, count) = (range.lowerBound, range.count)
                if let regroupedBytes {
                    vl_q4_0x8_dequantize(regroupedBytes.pointer, Int64(cols), Int64(first), Int64(first + count), tile)
                } else {
                    try self.convert(t, rows: first..<(first + count), into: tile)
                }
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(count), Int32(cols),
                    1, input.pointer, Int32(cols), tile, Int32(cols), 0, output.pointer + first, Int32(rows))
            }
        }
    }
}
