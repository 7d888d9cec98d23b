import Dispatch
import Testing
import VLCore
import VLTestSupport

@testable import VLInference

/// The persistent workers behind `ExecutionContext.share`: every part of every region runs exactly once,
/// whether the pool takes the region or, busy, hands it to libdispatch (a region inside a region, or
/// regions from several threads at once).
@Suite struct WorkerPoolTests {
    /// Runs `parts` parts on `context` and returns how often each ran.
    static func counts(_ parts: Int, on context: ExecutionContext) -> [Int] {
        let cells = SharedPointer(UnsafeMutablePointer<Int>.allocate(capacity: max(parts, 1)))
        defer { cells.pointer.deallocate() }
        cells.pointer.initialize(repeating: 0, count: max(parts, 1))
        context.share(parts) { part in cells.pointer[part] += 1 }  // each part owns its cell
        return Array(UnsafeBufferPointer(start: cells.pointer, count: parts))
    }

    @Test(arguments: [2, 3])
    func everyPartRunsOnceInEveryRegion(threads: Int) {
        let context = ExecutionContext(threads: threads)
        var rng = SplitMix64(seed: 21)
        for _ in 0..<2000 {
            let parts = Int(rng.next() % 40) + 1
            let counts = Self.counts(parts, on: context)
            #expect(counts == [Int](repeating: 1, count: parts))
            if counts != [Int](repeating: 1, count: parts) { return }
        }
    }

    @Test func aRegionInsideARegionRunsEveryPart() {
        let context = ExecutionContext(threads: 2)
        let inner = SharedPointer(UnsafeMutablePointer<Int>.allocate(capacity: 4 * 5))
        defer { inner.pointer.deallocate() }
        inner.pointer.initialize(repeating: 0, count: 20)
        context.share(4) { outer in
            context.share(5) { part in inner.pointer[5 * outer + part] += 1 }
        }
        #expect(Array(UnsafeBufferPointer(start: inner.pointer, count: 20)) == [Int](repeating: 1, count: 20))
    }

    @Test func regionsFromSeveralThreadsAtOnceRunEveryPart() {
        let context = ExecutionContext(threads: 2)
        let failures = SharedPointer(UnsafeMutablePointer<Int>.allocate(capacity: 4))
        defer { failures.pointer.deallocate() }
        failures.pointer.initialize(repeating: 0, count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for region in 0..<300 where Self.counts(region % 17 + 2, on: context) != [Int](repeating: 1, count: region % 17 + 2) {
                failures.pointer[caller] += 1
            }
        }
        #expect(Array(UnsafeBufferPointer(start: failures.pointer, count: 4)) == [0, 0, 0, 0])
    }
}
