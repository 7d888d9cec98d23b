import Foundation
import Logging
import Testing
import VLCheckpoint
import VLCore

/// Every good fixture must list exactly the tensors torch saw (name, dtype, shape, bytes, SHA-256),
/// the same skipped objects and globals, and the right family.
@Suite struct FixtureTests {
    @Test func manifestsArePresent() {
        #expect(Fixtures.good.count >= 15)
        #expect(Fixtures.samples.count >= 7)
        #expect(Fixtures.hostile.count >= 30)
    }

    @Test(arguments: Fixtures.good + Fixtures.samples)
    func matchesManifest(_ expected: Fixtures.Expected) throws {
        let source = try Checkpoint.open(Fixtures.path(expected.path))
        let report = try InspectReport(source: source, path: expected.path, hash: true)
        let actual = report.json()

        #expect(actual[key: "family"] == expected.json[key: "family"])
        #expect(actual[key: "globals"] == expected.json[key: "globals"])

        let want = Dictionary(uniqueKeysWithValues: (expected.json[key: "tensors"]?.array ?? []).map { ($0[key: "name"]?.string ?? "", $0) })
        let got = Dictionary(uniqueKeysWithValues: (actual[key: "tensors"]?.array ?? []).map { ($0[key: "name"]?.string ?? "", $0) })
        #expect(Set(got.keys) == Set(want.keys))
        for (name, w) in want {
            guard let g = got[name] else { continue }
            for field in ["dtype", "shape", "nbytes", "sha256"] {
                #expect(g[key: field] == w[key: field], "\(expected.path): \(name).\(field)")
            }
        }
        let skippedWant = (expected.json[key: "skipped"]?.array ?? []).map { "\($0[key: "path"]?.string ?? "")=\($0[key: "type"]?.string ?? "")" }
        let skippedGot = (actual[key: "skipped"]?.array ?? []).map { "\($0[key: "path"]?.string ?? "")=\($0[key: "type"]?.string ?? "")" }
        #expect(skippedGot.sorted() == skippedWant.sorted())
    }

    /// Every hostile file is refused with its specific rule (or, for the memo-sharing bomb, loads
    /// without blowing up), and no payload ever runs.
    @Test(.timeLimit(.minutes(2)), arguments: Fixtures.hostile)
    func hostileInputIsRefused(_ c: Fixtures.Hostile) throws {
        if let canary = c.canary { try? FileManager.default.removeItem(atPath: canary) }
        var rule: String?
        do {
            let source = try Checkpoint.open(Fixtures.path(c.path))
            _ = try InspectReport(source: source, path: c.path, hash: true)
        } catch let e as SourceError {
            rule = e.rule
        } catch let e as any RuleError {
            rule = e.rule
        }
        if c.expect == "ok" {
            #expect(rule == nil, "\(c.path) should load")
        } else {
            #expect(rule == c.expect || c.alsoAccept.contains(rule ?? ""), "\(c.path): \(rule ?? "loaded")")
        }
        if let canary = c.canary {
            #expect(!FileManager.default.fileExists(atPath: canary), "payload ran: \(canary) exists")
        }
    }
}
