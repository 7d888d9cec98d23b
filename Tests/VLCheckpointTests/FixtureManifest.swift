import Testing
import Foundation
import VLCore

/// The committed fixtures and the manifests `Fixtures/generate.py` computed for them with torch.
enum Fixtures {
    static let root: String = {
        // Tests/VLCheckpointTests/FixtureManifest.swift → package root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures").path
    }()

    static func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    static func loadJSON(_ relative: String) -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path(relative)) else { return .null }
        return (try? data.withUnsafeBytes { try JSONValue.parse($0) }) ?? .null
    }

    /// One expected `inspect --json` object.
    struct Expected: Sendable, CustomTestStringConvertible {
        let json: JSONValue
        var path: String { json[key: "path"]?.string ?? "" }
        var testDescription: String { path }
    }

    struct Hostile: Sendable, CustomTestStringConvertible {
        let path: String
        let kind: String
        let expect: String
        /// Other rules that are equally right (e.g. a forbidden GLOBAL met before the OBJ opcode).
        let alsoAccept: [String]
        let canary: String?
        var testDescription: String { "\(path) → \(expect)" }
    }

    /// `readers/` (Fixtures/generate_readers.py) holds both valid files and refused ones.
    static let good: [Expected] = ["good/manifest.json", "readers/manifest.json"].flatMap {
        loadJSON($0)[key: "fixtures"]?.array ?? []
    }.map(Expected.init)
    static let samples: [Expected] = (loadJSON("samples/manifest.json")[key: "fixtures"]?.array ?? []).map(Expected.init)
    static let hostile: [Hostile] = ["hostile/manifest.json", "readers/manifest.json", "fuzz-findings/manifest.json"].flatMap {
        loadJSON($0)[key: "cases"]?.array ?? []
    }.compactMap { c in
        guard let p = c[key: "path"]?.string, let e = c[key: "expect"]?.string else { return nil }
        return Hostile(
            path: p, kind: c[key: "kind"]?.string ?? "", expect: e,
            alsoAccept: c[key: "alsoAccept"]?.array?.compactMap(\.string) ?? [], canary: c[key: "canary"]?.string)
    }
}
