import CVLKernels
import Dispatch
import Foundation
import Synchronization

/// Persistent workers for the parallel regions of one `ExecutionContext` thread count, which spin for a
/// short while after each region before they sleep, so that the next region starts without waking a
/// thread.
///
/// Why: a one-token decoder step runs ~100 regions (q/k/v, o, gate/up, down per layer) of 0.1-1 ms each;
/// libdispatch parks its workers between them, and waking them (a futex per region and worker) measured
/// 6 % of a Q4_0 decode on the 1 B shape. Here the caller is worker 0 and publishes a region by bumping
/// `generation`; helpers that are still spinning take parts at once, sleeping ones are woken by a
/// condition variable. Cost while idle: each helper spins up to `spinLimit` pause iterations (~0.1 ms)
/// after a region, then sleeps.
///
/// Invariants: one region at a time (`submission`); a caller that finds the pool busy (another thread's
/// region, or a region started from inside a region) gets `false` and runs the region elsewhere. A
/// region returns only after every helper has checked in, so no helper touches its body afterwards.
final class WorkerPool: @unchecked Sendable {
    /// The pool for `threads` workers (the caller and threads − 1 helpers), created on first use.
    static func shared(threads: Int) -> WorkerPool {
        poolsLock.lock()
        defer { poolsLock.unlock() }
        if let pool = pools[threads] { return pool }
        let pool = WorkerPool(helpers: threads - 1)
        pools[threads] = pool
        return pool
    }

    // pthread-based locks (NSLock) rather than Synchronization's Mutex, whose futex ThreadSanitizer
    // cannot see: it reported the hand-over of `body` from one region's caller to the next as a race.
    private static let poolsLock = NSLock()
    nonisolated(unsafe) private static var pools: [Int: WorkerPool] = [:]

    /// Pause iterations a helper spins after a region before it sleeps (~40-100 cycles each).
    static let spinLimit = 4096

    private let helpers: Int
    private let submission = NSLock()
    private let generation = Atomic<Int>(0)
    private let nextPart = Atomic<Int>(0)
    private let checkedIn = Atomic<Int>(0)
    // Written by the caller before `generation` is bumped (release) and read by helpers after they see
    // it (acquire).
    nonisolated(unsafe) private var parts = 0
    nonisolated(unsafe) private var body: (@Sendable (Int) -> Void)?
    // Guards `sleepers` and the condition helpers sleep on.
    private let sleepLock: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    nonisolated(unsafe) private var sleepers = 0

    private init(helpers: Int) {
        self.helpers = helpers
        sleepLock = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(sleepLock, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<helpers {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()  // the pools live as long as the process
            let started = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<WorkerPool>.fromOpaque(context!).takeUnretainedValue().helperLoop()
                }, context)
            precondition(started == 0, "pthread_create failed: \(started)")
            pthread_detach(thread)
        }
    }

    /// Runs `body(part)` for every part of `0..<parts`, each once, on the caller and the helpers, each
    /// taking the next part when it finishes one. Returns false, having run nothing, when the pool is
    /// busy. Cost: one atomic add per part, a mutex round trip, and the wait for the slowest helper.
    func perform(parts: Int, _ body: @Sendable (Int) -> Void) -> Bool {
        guard submission.try() else { return false }
        defer { submission.unlock() }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.parts = parts
            nextPart.store(0, ordering: .relaxed)
            checkedIn.store(0, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            pthread_mutex_lock(sleepLock)
            if sleepers > 0 { pthread_cond_broadcast(wake) }
            pthread_mutex_unlock(sleepLock)
            takeParts(body, parts)
            // A helper that lost its core (an oversubscribed machine) is given the core back.
            var spins = 0
            while checkedIn.load(ordering: .acquiring) < helpers {
                spins += 1
                if spins < Self.spinLimit { vl_cpu_relax() } else { sched_yield() }
            }
            self.body = nil
        }
        return true
    }

    private func takeParts(_ body: @Sendable (Int) -> Void, _ parts: Int) {
        while case let part = nextPart.add(1, ordering: .relaxed).oldValue, part < parts { body(part) }
    }

    /// A helper's share of the published region, in its own frame so that its reference to the body is
    /// released before it checks in (`perform`'s withoutActuallyEscaping traps on a reference that
    /// outlives the region).
    @inline(never)
    private func takePublishedParts() {
        if let body { takeParts(body, parts) }
    }

    private func helperLoop() -> Never {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                if spins < Self.spinLimit {
                    spins += 1
                    vl_cpu_relax()
                    continue
                }
                pthread_mutex_lock(sleepLock)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(wake, sleepLock) }
                sleepers -= 1
                pthread_mutex_unlock(sleepLock)
            }
            seen = generation.load(ordering: .acquiring)
            takePublishedParts()
            checkedIn.add(1, ordering: .releasing)
        }
    }
}
