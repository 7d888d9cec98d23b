import Foundation
import Testing
import VLCore
import VLTestSupport
@testable import VLPackFormat

/// `Formats/vlpack_reader.py`, found from this source file's location (Tests/VLPackFormatTests/).
private let readerScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Formats/vlpack_reader.py").path

private func run(_ arguments: [String]) throws -> Subprocess { try Subprocess.python3(arguments) }

/// True when `python3` runs and imports numpy (the reader's only dependency).
private let pythonWithNumpy: Bool = (try? run(["-c", "import numpy"]).status) == 0

@Suite(.enabled(if: pythonWithNumpy, "needs python3 with numpy to run Formats/vlpack_reader.py"))
struct PythonReaderTests {
    @Test(arguments: VLPackAlignment.allCases)
    func pythonReaderAgreesWithSwiftReader(alignment: VLPackAlignment) throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.vlpack").path
        try Sample.make().write(to: path, alignment: alignment)
        let file = try VLPackFile(path: path)

        let r = try run([readerScript, path, "--list", "--json", "--hash"])
        try #require(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONValue.parse(r.stdout).array)
        #expect(rows.count == file.tensors.count)
        for (row, t) in zip(rows, file.tensors) {
            #expect(row[key: "name"]?.string == t.name)
            #expect(row[key: "dtype"]?.string == t.storage.name)
            #expect(row[key: "shape"]?.array?.compactMap(\.int) == t.shape)
            #expect(row[key: "nbytes"]?.int == t.nbytes)
            let sha = file.bytes(of: t).withUnsafeBytes { SHA256.hex(of: $0) }
            #expect(row[key: "sha256"]?.string == sha, "\(t.name)")
        }
        let verify = try run([readerScript, path, "--verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// `load` gives numpy arrays of the logical shape with the right values (checked in Python
    /// against bytes the test computes here).
    @Test func pythonLoadsValues() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("v.vlpack").path
        let values: [Float] = [1.5, -2.25, 3, 0, 1e-3, 7]
        let w = try VLPackWriter(
            path: path,
            plan: [
                .init(name: "x", dtype: .f32, shape: [2, 3]),
                .init(name: "q", storage: .blocks(.q8_0), shape: [64]),
            ])
        try values.withUnsafeBytes { try w.write(tensor: "x", contents: $0) }
        try w.write(tensor: "q", contents: [UInt8](repeating: 3, count: 68))
        try w.finish()
        let script = """
            import sys; sys.path.insert(0, sys.argv[1]); import vlpack_reader as v
            f = v.open(sys.argv[2]); x = f.load("x"); q = f.load("q")
            assert x.shape == (2, 3) and x.dtype.str == "<f4", x
            assert x.tolist() == [[1.5, -2.25, 3.0], [0.0, float(x[1, 1]), 7.0]] and abs(x[1, 1] - 1e-3) < 1e-9
            assert q.shape == (2, 34) and int(q.sum()) == 3 * 68
            print("ok")
            """
        let r = try run(["-c", script, URL(fileURLWithPath: readerScript).deletingLastPathComponent().path, path])
        #expect(r.status == 0 && r.stdout == "ok\n", "\(r.stdout)\(r.stderr)")
    }

    /// Every crafted file that breaks one rule is refused by the Python reader with the same rule name.
    @Test func pythonReaderRefusesCraftedFilesWithTheSameRules() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var expected: [String] = []
        for (i, c) in CraftedHeaderTests.cases.enumerated() {
            try writeFile(
                folder.appendingPathComponent("\(i).vlpack").path,
                craftFile(json: c.json, data: CraftedHeaderTests.data, alignment: c.alignment, patch: c.patch))
            expected.append(c.rule)
        }
        let script = """
            import sys; sys.path.insert(0, sys.argv[1]); import vlpack_reader as v
            for i in range(int(sys.argv[3])):
                try:
                    v.open(f"{sys.argv[2]}/{i}.vlpack"); print("accepted")
                except v.VLPackError as e:
                    print(e.rule)
            """
        let r = try run([
            "-c", script, URL(fileURLWithPath: readerScript).deletingLastPathComponent().path, folder.path,
            String(expected.count),
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").map(String.init) == expected)
    }

    @Test func pythonReaderDetectsDamage() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.vlpack").path
        try Sample.make().write(to: path)
        let file = try VLPackFile(path: path)
        let target = try #require(file.tensor(named: "plain.F32"))
        var bytes = try readFile(path)
        bytes[file.preamble.dataOffset + target.offset + 5] ^= 0x10
        try writeFile(path, bytes)
        let r = try run([readerScript, path, "--verify"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("'plain.F32'") && r.stdout.contains("tensorChecksumMismatch"), "\(r.stdout)")

        try writeFile(path, Array(bytes.dropLast()))
        let cut = try run([readerScript, path, "--list"])
        #expect(cut.status == 2 && cut.stderr.contains("truncated"), "\(cut.stderr)")
    }
}
