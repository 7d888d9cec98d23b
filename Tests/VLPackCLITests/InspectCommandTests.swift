import Foundation
import Testing
import VLCore
import VLTestSupport

/// Runs the built `vlpack` executable the way users and scripts do.
enum CLI {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `$VLPACK_BINARY` when set (`make test-sanitize` points it at the sanitized build), else the
    /// normal debug or release build.
    static var binary: String? {
        if let path = ProcessInfo.processInfo.environment["VLPACK_BINARY"] {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        for config in ["debug", "release"] {
            let path = root.appendingPathComponent(".build/\(config)/vlpack").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// `vlpack ARGUMENTS`, run from the repository root (`input` on its stdin).
    static func run(_ arguments: [String], input: String? = nil) throws -> Subprocess {
        try Subprocess.run(try #require(binary), arguments, in: root, input: input)
    }
}

@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"))
struct InspectCommandTests {
    @Test func jsonOfASampleFollowsSchema1() throws {
        let r = try CLI.run(["inspect", "--json", "--hash", "Fixtures/samples/eva_vit_g.pth"])
        #expect(r.status == 0)
        let json = try r.stdout.utf8CString.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        #expect(json[key: "schema"]?.int == 1)
        #expect(json[key: "family"]?.string == "eva-vit-g")
        let first = try #require(json[key: "tensors"]?.array?.first)
        #expect(first[key: "sha256"]?.string?.count == 64)
        #expect(json[key: "skipped"]?.array != nil && json[key: "globals"]?.array != nil)
    }

    @Test func severalPathsGiveAnArray() throws {
        let r = try CLI.run(["inspect", "--json", "Fixtures/good/dtypes.pt", "Fixtures/good/single.safetensors"])
        #expect(r.status == 0)
        let json = try r.stdout.utf8CString.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        #expect(json.array?.count == 2)
    }

    @Test func filterSelectsTensors() throws {
        let r = try CLI.run(["inspect", "--json", "--filter", "^blocks\\.0\\.attn", "Fixtures/samples/eva_vit_g.pth"])
        let json = try r.stdout.utf8CString.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        let names = json[key: "tensors"]?.array?.compactMap { $0[key: "name"]?.string } ?? []
        #expect(!names.isEmpty && names.allSatisfy { $0.hasPrefix("blocks.0.attn") })
    }

    /// A file with no tensor is listed (exit 0), with a warning on stderr that names it.
    @Test func zeroTensorsAreWarnedAbout() throws {
        let path = "Fixtures/readers/plain_data.pkl"
        let r = try CLI.run(["inspect", path])
        #expect(r.status == 0)
        #expect(r.stderr.hasPrefix("vlpack: warning: \(path) holds no tensors"), "\(r.stderr)")
        let withTensors = try CLI.run(["inspect", "Fixtures/good/dtypes.pt"])
        #expect(withTensors.stderr.isEmpty)
    }

    /// `inspect DIR/<index>.json` lists what `inspect DIR` lists.
    @Test(arguments: [
        "Fixtures/good/safetensors_sharded/model.safetensors.index.json",
        "Fixtures/good/bin_sharded/pytorch_model.bin.index.json",
    ])
    func shardIndexPathWorksLikeItsFolder(_ index: String) throws {
        let byIndex = try CLI.run(["inspect", "--json", index])
        let byFolder = try CLI.run(["inspect", "--json", (index as NSString).deletingLastPathComponent])
        #expect(byIndex.status == 0, "\(byIndex.stderr)")
        let parse = { (text: String) in
            try text.utf8CString.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        }
        let tensors = try parse(byIndex.stdout)[key: "tensors"]
        let folderTensors = try parse(byFolder.stdout)[key: "tensors"]
        #expect(tensors != nil && tensors == folderTensors)
    }

    /// A refused file: non-zero exit, nothing on stdout, one line on stderr naming file and rule.
    @Test(arguments: [
        ("Fixtures/hostile/os_system_reduce.pkl", "forbiddenGlobal"),
        ("Fixtures/hostile/st_duplicate_key.safetensors", "duplicateKey"),
        ("Fixtures/hostile/zip_truncated.pt", "zipEndRecordMissing"),
        ("Fixtures/readers/legacy_magic_off_by_one_p4.pt", "legacyBadMagic"),
        ("Fixtures/readers/pickle_trailing_bytes.pkl", "trailingBytes"),
    ])
    func refusalIsOneClearLine(_ path: String, _ rule: String) throws {
        guard FileManager.default.fileExists(atPath: CLI.root.appendingPathComponent(path).path) else {
            Issue.record("fixture \(path) missing")
            return
        }
        let r = try CLI.run(["inspect", path])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(r.stderr.contains(path) && r.stderr.contains(rule), "\(r.stderr)")
    }
}
