import Dispatch
import Testing
import VLCore

/// `SharedPointer` carries an address into a parallel loop whose workers write disjoint cells.
@Suite struct SharedPointerTests {
    @Test func workersWriteTheirOwnCells() {
        let n = 1000, parts = 4
        var squares = [Int](repeating: -1, count: n)
        let input = (0..<n).map { $0 }
        input.withUnsafeBufferPointer { src in
            squares.withUnsafeMutableBufferPointer { dst in
                let from = SharedPointer(src), to = SharedPointer(dst.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    for i in (n * part / parts)..<(n * (part + 1) / parts) { to.pointer[i] = from.pointer[i] * from.pointer[i] }
                }
            }
        }
        #expect(squares == input.map { $0 * $0 })
    }

    /// The wrapper is the pointer and nothing more.
    @Test func costsOnlyThePointer() {
        #expect(MemoryLayout<SharedPointer<UnsafeMutablePointer<Float>>>.size == MemoryLayout<UnsafeMutablePointer<Float>>.size)
        #expect(MemoryLayout<SharedPointer<UnsafeRawBufferPointer>>.size == MemoryLayout<UnsafeRawBufferPointer>.size)
    }
}
