import Foundation
import Testing
import VLCore
import VLTorch

private let fixtures: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("Fixtures/good").path
}()

/// Copies a fixture to a temporary file, lets `edit` change its bytes, and returns the new path.
private func editedCopy(of name: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/\(name)")))
    edit(&bytes)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-\(UUID().uuidString)-\(name)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

private func rule(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let e as any RuleError {
        return e.rule
    } catch {
        return "\(error)"
    }
}

@Suite struct TorchZipTests {
    @Test(arguments: ["dtypes.pt", "trainer_checkpoint.pth", "deflate.pt", "bytesio.pt", "torch112_style.pt", "bigendian.pt"])
    func checksumsOfRealFilesVerify(_ name: String) throws {
        let checkpoint = try TorchZipCheckpoint(path: "\(fixtures)/\(name)")
        try checkpoint.verifyChecksums()
    }

    @Test func flippedStorageByteFailsTheCRC() throws {
        let original = try TorchZipCheckpoint(path: "\(fixtures)/dtypes.pt")
        let entry = try #require(original.entries.first { $0.byteCount > 0 })
        let offset = try #require(entry.storage.fileOffset)
        let path = try editedCopy(of: "dtypes.pt") { $0[offset] ^= 0x01 }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let corrupted = try TorchZipCheckpoint(path: path)  // opening never reads storages
        #expect(rule { try corrupted.verifyChecksums() } == "crcMismatch")
    }

    @Test func archivePrefixIsTakenFromTheFile() throws {
        #expect(try TorchZipCheckpoint(path: "\(fixtures)/bytesio.pt").prefix == "archive")
        #expect(try TorchZipCheckpoint(path: "\(fixtures)/dtypes.pt").prefix == "dtypes")
    }

    @Test func deflatedEntriesAreInflatedIntoPrivateBuffers() throws {
        let checkpoint = try TorchZipCheckpoint(path: "\(fixtures)/deflate.pt")
        #expect(checkpoint.archive.directory.entries.contains { !$0.isStored })
        for entry in checkpoint.entries where entry.byteCount > 0 {
            let bytes = try checkpoint.bytes(of: entry)
            #expect(bytes.count == entry.byteCount)
            #expect(!bytes.isZeroCopy)
        }
    }

    @Test func truncatedArchiveIsRefused() throws {
        for keep in [0, 10, 100, 1000] {
            let path = try editedCopy(of: "dtypes.pt") { $0 = Array($0.prefix(keep)) }
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(rule { _ = try TorchZipCheckpoint(path: path) } == "zipEndRecordMissing", "kept \(keep) bytes")
        }
    }
}
