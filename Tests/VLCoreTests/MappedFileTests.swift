import Testing
import VLCore

@Suite struct MappedFileTests {
    /// An in-memory copy reads back the same bytes, and releasing pages (which zeroes anonymous
    /// memory under MADV_DONTNEED) leaves them intact.
    @Test func copiedBytesSurviveRelease() throws {
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let file = try bytes.withUnsafeBytes { try MappedFile(copying: $0, path: "memory") }
        #expect(file.count == bytes.count)
        file.release(offset: 0, length: file.count)
        #expect(Array(file.bytes) == bytes)
        #expect(file.range(offset: 19_990, length: 11) == nil)
        let empty = try [UInt8]().withUnsafeBytes { try MappedFile(copying: $0, path: "empty") }
        #expect(empty.count == 0 && empty.bytes.isEmpty)
    }
}
