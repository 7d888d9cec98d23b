import CVLKernels
import VLCore
import VLPackFormat

extension Weights {
    /// Rows per group of the Q4_0x8 layout (gemv_q4_0x8.c).
    static let regroupedRows = 8

    /// Whether `linear` reads `t` through a Q4_0x8 copy: Q4_0 matrices whose rows come in groups of 8
    /// (every LLaMA matrix). The plain Q4_0 kernel reduces one row at a time and measured compute-bound
    /// at about half the read bandwidth; the regrouped one reduces eight rows per step.
    static func isRegrouped(_ t: VLPackTensor) -> Bool {
        t.storage == .blocks(.q4_0) && t.shape.count == 2 && t.shape[0] % regroupedRows == 0
    }

    /// The Q4_0x8 copy of `t` (which `isRegrouped`), made on first use by the context's workers and kept
    /// for this object's lifetime. Making it reads the matrix once from the mapping and then releases
    /// those pages, so resident memory holds the bytes once, as anonymous memory. Cost: O(nbytes), once.
    func regroupedQ4_0(_ t: VLPackTensor, on context: ExecutionContext) -> UnsafeRawPointer {
        lock.lock()
        defer { lock.unlock() }
        if let copy = regrouped[t.name] { return UnsafeRawPointer(copy.bytes.baseAddress!) }
        let stored = pack.bytes(of: t)
        let copy = OwnedBuffer(count: stored.buffer.count)
        let (source, target) = (SharedPointer(stored.buffer.baseAddress!), SharedPointer(copy.bytes.baseAddress!))
        let groups = t.shape[0] / Self.regroupedRows, cols = t.shape[1]
        let parts = min(context.threads, max(1, groups / 64))
        context.run(parts) { part in
            vl_q4_0x8_repack(
                source.pointer.assumingMemoryBound(to: UInt8.self), target.pointer.assumingMemoryBound(to: UInt8.self), Int64(cols),
                Int64(groups * part / parts), Int64(groups * (part + 1) / parts))
        }
        stored.releasePages()
        regrouped[t.name] = copy
        return UnsafeRawPointer(copy.bytes.baseAddress!)
    }
}
