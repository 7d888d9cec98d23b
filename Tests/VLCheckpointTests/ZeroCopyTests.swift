import Foundation
import Testing
import VLCheckpoint
import VLCore
import VLSafetensors

/// Fetching a stored tensor must not allocate memory proportional to its size: the bytes are a
/// view into the file mapping.
@Suite struct ZeroCopyTests {
    /// Anonymous resident memory of this process (heap, not mapped file pages), from /proc.
    static func residentAnonymousBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }

    /// Size of the tensor fetched; large enough that a copy would stand out from allocator noise.
    static let tensorBytes = 256 << 20
    /// Growth of anonymous memory allowed while hashing the tensor. RssAnon is process-wide and other
    /// suites run in parallel, so a fixed few MiB is flaky (20 MiB was seen); a copy would add the
    /// whole 256 MiB, so a quarter of it still tells the two apart.
    static let allowedGrowth = tensorBytes / 4

    @Test func largeSafetensorsTensorIsNotCopied() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-zerocopy-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("big.safetensors").path

        var writer = SafetensorsWriter(path: path)
        let chunk = [UInt8](repeating: 0x3c, count: 1 << 20)
        try writer.add(name: "w", dtype: .f16, shape: [Self.tensorBytes / 2]) { write in
            for _ in 0..<(Self.tensorBytes / chunk.count) { try chunk.withUnsafeBytes { try write($0) } }
        }
        try writer.finish()

        let source = try Checkpoint.open(path)
        let entry = try #require(source.entry(named: "w"))
        let before = Self.residentAnonymousBytes()
        let bytes = try source.bytes(of: entry)
        #expect(bytes.isZeroCopy)
        #expect(bytes.count == Self.tensorBytes)
        let digest = bytes.withUnsafeBytes { SHA256.hex(of: $0) }
        let growth = Self.residentAnonymousBytes() - before
        #expect(digest.count == 64)
        #expect(growth < Self.allowedGrowth, "anonymous memory grew by \(growth) bytes")
    }

    @Test func storedTorchTensorsAreViewsAndDeflatedOnesAreCopies() throws {
        for expected in Fixtures.good where expected.path.hasSuffix(".pt") || expected.path.hasSuffix(".pth") {
            let source = try Checkpoint.open(Fixtures.path(expected.path))
            for entry in source.entries where entry.isContiguous && !entry.storage.bigEndian && entry.byteCount > 0 {
                let bytes = try source.bytes(of: entry)
                #expect(bytes.isZeroCopy == (entry.storage.fileOffset != nil), "\(expected.path): \(entry.name)")
            }
        }
    }
}
