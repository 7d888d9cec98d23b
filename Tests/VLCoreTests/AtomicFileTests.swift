import Foundation
import Testing
@testable import VLCore

/// A fresh folder under the system temporary directory, removed by the caller.
private func makeFolder() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("vlcore-atomic-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    return path
}

private func listing(_ folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
}

private func contents(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

@Suite struct AtomicFileTests {
    /// Both strategies: nothing at `path` (and, unnamed, nothing at all) until commit; then exactly
    /// the written bytes, the patched header included, and no temporary beside it.
    @Test(arguments: [AtomicFile.Strategy.unnamed, .named])
    func appearsCompleteOnCommit(_ strategy: AtomicFile.Strategy) throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/out.bin"
        let file = try AtomicFile(path: path, strategy: strategy)
        #expect(file.strategy == strategy, "this folder's file system supports O_TMPFILE")
        try file.write([0, 0, 3, 4])
        try file.write([UInt8](repeating: 7, count: 3 << 20))
        try file.write([1, 2], at: 0)
        let whileWriting = try listing(folder)
        if strategy == .unnamed {
            #expect(whileWriting.isEmpty, "an unnamed temporary has no directory entry")
            #expect(file.temporaryPath == nil)
        } else {
            #expect(whileWriting.count == 1 && AtomicFile.TemporaryName.owner(of: whileWriting[0]) == getpid())
        }
        try file.commit()
        #expect(try listing(folder) == ["out.bin"])
        #expect(try contents(path) == [1, 2, 3, 4] + [UInt8](repeating: 7, count: 3 << 20))
    }

    /// An existing file stays byte for byte until commit replaces it, and an abandoned replacement
    /// leaves it (and nothing else) behind.
    @Test(arguments: [AtomicFile.Strategy.unnamed, .named])
    func replacesAtomicallyOrNotAtAll(_ strategy: AtomicFile.Strategy) throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/out.bin"
        try Data([9, 9]).write(to: URL(fileURLWithPath: path))
        let abandoned = try AtomicFile(path: path, strategy: strategy)
        try abandoned.write([1, 2, 3])
        abandoned.abandon()
        #expect(try listing(folder) == ["out.bin"] && contents(path) == [9, 9])

        let file = try AtomicFile(path: path, strategy: strategy)
        try file.write([5, 6, 7])
        #expect(try contents(path) == [9, 9])
        try file.commit()
        #expect(try listing(folder) == ["out.bin"] && contents(path) == [5, 6, 7])
    }

    /// Temporaries of the pattern whose owner is dead are removed by the next AtomicFile in the
    /// folder; a live owner's (this process's) and any name outside the pattern are left alone.
    @Test func staleTemporariesOfDeadOwnersAreSwept() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let stale = ".out.bin.vlpack-tmp-\(dead)-00000000deadbeef"
        let live = ".out.bin.vlpack-tmp-\(getpid())-0123456789abcdef"
        let others = [".out.bin.vlpack-tmp-\(dead)-xyz", "out.bin.vlpack-tmp-\(dead)-00000000deadbeef", ".other.tmp-\(dead)-1", "keep.txt"]
        for name in [stale, live] + others { try Data([1]).write(to: URL(fileURLWithPath: folder + "/" + name)) }
        #expect(AtomicFile.TemporaryName.owner(of: stale) == dead)
        #expect(others.allSatisfy { AtomicFile.TemporaryName.owner(of: $0) == nil })

        let file = try AtomicFile(path: folder + "/out.bin")
        try file.write([1])
        try file.commit()
        #expect(try listing(folder) == ([live, "out.bin"] + others).sorted())
    }

    @Test func refusesOutputsThatAreNotFiles() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: AtomicFileError.notARegularFile(path: folder, kind: "a directory")) { try AtomicFile(path: folder) }
        #expect(throws: AtomicFileError.notARegularFile(path: "/dev/null", kind: "a character device")) { try AtomicFile(path: "/dev/null") }
        let missing = folder + "/no/such/out.bin"
        #expect(throws: AtomicFileError.io(path: missing, operation: "create", errno: ENOENT)) { try AtomicFile(path: missing) }
        let input = folder + "/in.bin"
        try Data([1]).write(to: URL(fileURLWithPath: input))
        #expect(throws: AtomicFileError.overwritesInput(path: folder + "/./in.bin", input: input)) {
            try AtomicFile(path: folder + "/./in.bin", refusingToReplace: [input])
        }
        #expect(try listing(folder) == ["in.bin"])
    }
}

@Suite struct MappedFileFaultTests {
    /// A mapped file truncated under the reader: the guarded read throws the rule naming the file
    /// instead of the process dying of SIGBUS; the pages still inside the file read fine.
    @Test func truncatedMappingThrowsInsteadOfCrashing() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vlcore-shrink-\(UUID().uuidString)").path
        defer { unlink(path) }
        let size = 4 << 20
        try Data(repeating: 0x5A, count: size).write(to: URL(fileURLWithPath: path))
        let file = try MappedFile(path: path)
        #expect(truncate(path, off_t(1 << 20)) == 0)
        var seen = 0
        #expect(throws: FileError.self) {
            try file.read(offset: 0, length: size, chunk: 1 << 20) { seen += $0.count }
        }
        #expect(seen == 1 << 20, "the first MiB is still inside the file")
        do {
            try file.read(offset: 2 << 20, length: 4096) { _ in }
            Issue.record("a read past the new end succeeded")
        } catch let error as FileError {
            #expect(error.rule == "changedWhileMapped" && error.detail.contains(path))
        }
        let view = TensorBytes(view: try #require(file.range(offset: 3 << 20, length: 16)), owner: file)
        #expect(throws: FileError.self) { try view.read { _ in } }
    }

    @Test func pathsThatAreNotFilesAreRefusedWithoutBlocking() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vlcore-paths-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(mkfifo(folder + "/fifo", 0o644) == 0)
        #expect(symlink(folder + "/nowhere", folder + "/dangling") == 0)
        for (path, rule) in [
            (folder + "/fifo", "notARegularFile"), (folder, "notARegularFile"), (folder + "/dangling", "danglingSymlink"),
            (folder + "/missing", "cannotOpen"),
        ] {
            do {
                _ = try MappedFile(path: path)
                Issue.record("\(path) opened")
            } catch {
                #expect(error.rule == rule && error.detail.contains(path), "\(error)")
            }
        }
    }
}
