import CVLKernels
import Foundation
import VLCore
import VLPackFormat
import VLQuant

/// f32 access to the weights of a mapped `.vlpack`, never materializing the whole model.
///
/// - F32 tensors are zero-copy views into the mapping (the format aligns every tensor to ≥ 64 bytes).
/// - Other storages (F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K) are converted on use:
///   `matrix(_:rows:cols:into:)` writes into a caller-owned scratch buffer that the model reuses for the
///   next matrix, so extra memory is one matrix (the largest: EVA fc1, 6144×1408 f32 = 35 MB);
///   `vector(_:shape:)` converts small tensors (biases, norms, embeddings) once and keeps them
///   (ViT-g + Q-Formers: ~3 MB).
///
/// - Q4_0 matrices that `linear` multiplies are regrouped eight rows at a time into anonymous memory on
///   first use (`Weights+Regrouped.swift`), and their pages in the mapping are released: the same bytes.
///
/// Every returned pointer is valid for the lifetime of this object (which keeps the mapping), or until
/// the scratch buffer is reused, for `matrix`. Thread-safe.
public final class Weights: @unchecked Sendable {
    public let pack: VLPackFile
    let lock = NSLock()
    private var cache: [String: UnsafeMutablePointer<Float>] = [:]
    /// Q4_0 matrices regrouped for decoding (`Weights+Regrouped.swift`), by tensor name; under `lock`.
    var regrouped: [String: OwnedBuffer] = [:]

    /// How prefill multiplies many input rows by Q4_0 and Q8_0 weights where an integer kernel exists for
    /// them (AVX-512 VNNI): `.integer` rounds the rows to 8-bit blocks, as one-token steps always do and as
    /// ggml does, and multiplies in integers; `.float` widens tiles of W to f32 for sgemm, so that the
    /// product carries only the weights' own loss (implementation parity against a float reference).
    public enum PrefillProducts: Sendable { case integer, float }
    public let prefillProducts: PrefillProducts

    public init(pack: VLPackFile, prefillProducts: PrefillProducts = .integer) { (self.pack, self.prefillProducts) = (pack, prefillProducts) }

    public convenience init(path: String, prefillProducts: PrefillProducts = .integer) throws {
        try self.init(pack: VLPackFile(path: path), prefillProducts: prefillProducts)
    }

    deinit { for p in cache.values { p.deallocate() } }

    // MARK: - Configs

    /// The `config` object of a component in the header (`eva_vit`, `blip2_qformer`, ...).
    public func config(_ component: ComponentName) throws(InferenceError) -> JSONValue {
        guard let c = pack.parts.components[key: component.rawValue]?[key: "config"] else { throw .missingComponent(component.rawValue) }
        return c
    }

    // MARK: - Tensors

    /// The table row of `name`, checked to have exactly `shape`.
    public func tensor(_ name: String, shape: [Int]) throws(InferenceError) -> VLPackTensor {
        guard let t = pack.tensor(named: name) else { throw .missingTensor(name) }
        guard t.shape == shape else { throw .shapeMismatch(tensor: name, expected: shape, actual: t.shape) }
        return t
    }

    /// A small tensor as f32 (biases, norm weights, embeddings): zero-copy when stored F32, otherwise
    /// converted once and cached. O(n) the first time, O(1) after.
    public func vector(_ name: String, shape: [Int]) throws(InferenceError) -> UnsafePointer<Float> {
        let t = try tensor(name, shape: shape)
        if let p = zeroCopy(t) { return p }
        lock.lock()
        defer { lock.unlock() }
        if let p = cache[name] { return UnsafePointer(p) }
        let count = shape.reduce(1, *)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        try convert(t, rows: 0..<rowCount(t), into: p)
        cache[name] = p
        return UnsafePointer(p)
    }

    /// A weight matrix `[rows, cols]` as f32: zero-copy when stored F32, otherwise converted into
    /// `scratch` (the context's workers, O(rows·cols)); the pointer is valid until `scratch` is reused.
    public func matrix(
        _ name: String, rows: Int, cols: Int, into scratch: FloatBuffer,
        on context: ExecutionContext
    ) throws(InferenceError) -> UnsafePointer<Float> {
        try matrix(name, shape: [rows, cols], into: scratch, on: context)
    }

    /// Like `matrix(_:rows:cols:into:)` for any shape whose last dimension is the row length
    /// (e.g. a conv kernel `[out, c, kh, kw]` read as `[out, c·kh·kw]`).
    public func matrix(
        _ name: String, shape: [Int], into scratch: FloatBuffer,
        on context: ExecutionContext
    ) throws(InferenceError) -> UnsafePointer<Float> {
        let t = try tensor(name, shape: shape)
        if let p = zeroCopy(t) { return p }
        let dst = scratch.reserve(shape.reduce(1, *))
        let rows = rowCount(t)
        // Row slices on every worker.
        let parts = rows >= 64 ? context.threads : 1
        let out = SharedPointer(dst)
        try context.runThrowing(parts) { (part) throws(InferenceError) in
            let slice = rows * part / parts..<rows * (part + 1) / parts
            try self.convert(t, rows: slice, into: out.pointer + slice.lowerBound * (t.shape.last ?? 1))
        }
        return UnsafePointer(dst)
    }

    /// The storage of `name` (`F32`, `F16`, `Q4_K`, ...), or nil when absent.
    public func storage(of name: String) -> StorageType? { pack.tensor(named: name)?.storage }

    // MARK: - Conversion

    private func rowCount(_ t: VLPackTensor) -> Int {
        guard let last = t.shape.last, last > 0 else { return 1 }
        return t.shape.reduce(1, *) / last
    }

    private func zeroCopy(_ t: VLPackTensor) -> UnsafePointer<Float>? {
        guard t.storage == .plain(.f32) else { return nil }
        let base = pack.bytes(of: t).buffer.baseAddress!
        guard Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return base.assumingMemoryBound(to: Float.self)
    }

    /// Row `index` of the `shape` tensor `name` (rows along the first dimensions, the last dimension
    /// the row length) converted to f32 into `dst`: an embedding lookup reads one row, not the table.
    /// Cost: O(row length); nothing is cached.
    public func row(_ name: String, shape: [Int], index: Int, into dst: UnsafeMutablePointer<Float>) throws(InferenceError) {
        let t = try tensor(name, shape: shape)
        guard index >= 0, index < rowCount(t) else { throw .rowOutOfRange(tensor: name, row: index, rows: rowCount(t)) }
        try convert(t, rows: index..<(index + 1), into: dst)
    }

    /// Converts whole rows `rows` of `t` into `dst` (which receives the first of them) with VLQuant's one
    /// routine per storage: element-exact for F32/F16/BF16, the GGUF dequantizers for blocks.
    func convert(_ t: VLPackTensor, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>) throws(InferenceError) {
        let rowLength = t.shape.last ?? 1
        let n = rows.count * rowLength
        guard n > 0 else { return }
        guard let rowBytes = t.storage.byteCount(shape: [rowLength]) else {
            throw .unsupportedStorage(tensor: t.name, storage: t.storage.name)
        }
        let src = pack.bytes(of: t).buffer
        let stored = UnsafeRawBufferPointer(rebasing: src[rows.lowerBound * rowBytes..<rows.upperBound * rowBytes])
        do {
            // A misaligned F32 tensor (the only F32 that reaches here) is copied bytewise.
            try SourceConversion.floats(
                from: stored, storage: t.storage, rowLength: rowLength,
                into: UnsafeMutableBufferPointer(start: dst, count: n))
        } catch {
            throw .unsupportedStorage(tensor: t.name, storage: t.storage.name)
        }
    }
}
