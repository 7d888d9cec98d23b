import Dispatch
import Synchronization
import VLCore

/// A growable, 64-byte-aligned f32 buffer reused across calls: activations and weight scratch.
///
/// Invariant: `pointer` stays valid until the next `reserve` that grows the buffer, or deinit.
/// Growing does not keep the contents (callers always overwrite what they reserve). Not thread-safe:
/// one owner; parallel loops write disjoint ranges through `SharedPointer`s.
public final class FloatBuffer: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 16)
        pointer = Self.allocate(self.capacity)
    }

    deinit { pointer.deallocate() }

    /// At least `count` floats; returns the (possibly new) base. O(1) unless it grows.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = Self.allocate(count)
        }
        return pointer
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64).bindMemory(to: Float.self, capacity: count)
    }
}

/// Where a call runs: how many workers its ops may split into (GEMM column panels, attention heads,
/// element-wise chunks). Passed into every forward pass and op, never global, so runs with
/// different thread counts can share one process and one mapped model. OpenBLAS itself stays
/// single-threaded inside these workers (see `BLAS`).
public struct ExecutionContext: Sendable, Equatable {
    /// Worker count, at least 1.
    public let threads: Int

    public init(threads: Int) { self.threads = max(1, threads) }

    /// Two workers: the project's machines have two cores.
    public static let standard = ExecutionContext(threads: 2)

    /// Runs `body(part)` for every part of `0..<parts`, each once, concurrently on at most `threads`
    /// workers; one part runs inline.
    func run(_ parts: Int, _ body: @Sendable (Int) -> Void) { share(parts, body) }

    /// Runs `body(part)` for every part of `0..<parts` on at most `threads` workers, each taking the next
    /// part when it finishes one: with more parts than workers, a worker on a slowed core (a shared
    /// machine) takes fewer of them instead of holding up the join. The workers are this thread count's
    /// `WorkerPool`, or libdispatch's when the pool is busy (a region inside a region, or another
    /// thread's). Cost: one atomic add per part.
    func share(_ parts: Int, _ body: @Sendable (Int) -> Void) {
        let workers = min(threads, parts)
        guard workers > 1 else {
            for part in 0..<parts { body(part) }
            return
        }
        if WorkerPool.shared(threads: threads).perform(parts: parts, body) { return }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while case let part = next.add(1, ordering: .relaxed).oldValue, part < parts { body(part) }
        }
    }

    /// `run` for a body that can fail: each part's error is kept in its own cell and the first (by
    /// part) is thrown after every part has finished.
    func runThrowing(_ parts: Int, _ body: @Sendable (Int) throws(InferenceError) -> Void) throws(InferenceError) {
        let count = max(1, parts)
        let errors = SharedPointer(UnsafeMutablePointer<InferenceError?>.allocate(capacity: count))
        errors.pointer.initialize(repeating: nil, count: count)
        defer { errors.pointer.deinitialize(count: count); errors.pointer.deallocate() }
        run(count) { part in
            do throws(InferenceError) { try body(part) } catch { errors.pointer[part] = error }
        }
        if let failure = (0..<count).lazy.compactMap({ errors.pointer[$0] }).first { throw failure }
    }

    /// Runs `body(range)` for `parts = min(threads, n / grain)` contiguous parts of `0..<n` concurrently.
    /// Small `n` (below `grain` items) runs inline: a dispatch costs ~10 µs.
    func chunks(_ n: Int, grain: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = max(1, min(threads, n / max(grain, 1)))
        run(parts) { part in body(n * part / parts..<n * (part + 1) / parts) }
    }
}
