import Foundation
import VLCheckpoint
import VLCore

extension ModelMap {
    /// Every map shipped with VLPack, by family. Loaded from the package's `Maps` resources (the
    /// same files as `Formats/maps/`). Cost: parses a few small JSON files.
    public static func bundled() throws -> [ComponentFamily: ModelMap] {
        try load(documents: bundledDocuments())
    }

    /// The parsed map files shipped with VLPack, by file name (fragments included).
    public static func bundledDocuments() throws -> [String: JSONValue] {
        guard let folder = Bundle.module.resourceURL?.appendingPathComponent("Maps") else {
            throw ConvertError.invalidMap(map: "(bundle)", reason: "model maps are missing from the installation")
        }
        return try documents(folder: folder.path)
    }

    /// Loads every `*.json` map in `folder`; files with `"fragment"` are included by the others.
    public static func load(folder: String) throws -> [ComponentFamily: ModelMap] {
        try load(documents: documents(folder: folder))
    }

    /// Every `*.json` file in `folder`, parsed, by file name.
    public static func documents(folder: String) throws -> [String: JSONValue] {
        var documents: [String: JSONValue] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where name.hasSuffix(".json") {
            let path = (folder as NSString).appendingPathComponent(name)
            let file = try MappedFile(path: path)
            documents[name] = try attributing(to: path) { try JSONValue.parse(file.bytes) }
        }
        return documents
    }

    /// Builds the maps from parsed map files (file name → document); documents with `"fragment"`
    /// are only included by the others. Separate from reading so the rules can be checked (and
    /// fuzzed) without files.
    public static func load(documents: [String: JSONValue]) throws -> [ComponentFamily: ModelMap] {
        var fragments: [String: JSONValue] = [:]
        for (_, doc) in documents { if let f = doc[key: "fragment"]?.string { fragments[f] = doc } }
        var maps: [ComponentFamily: ModelMap] = [:]
        for (name, doc) in documents where doc[key: "fragment"] == nil {
            let map = try ModelMap(document: doc, name: name, fragments: fragments)
            maps[map.family] = map
        }
        return maps
    }

    init(document doc: JSONValue, name: String, fragments: [String: JSONValue]) throws {
        func fail(_ reason: String) -> ConvertError { .invalidMap(map: name, reason: reason) }
        guard let familyName = doc[key: "family"]?.string, let family = ComponentFamily(rawValue: familyName) else {
            throw fail("missing or unknown \"family\"")
        }
        guard let component = doc[key: "component"]?.string else { throw fail("missing \"component\"") }
        self.family = family
        self.component = component
        description = doc[key: "description"]?.string ?? ""
        root = doc[key: "root"]?.string ?? ""
        defaults = doc[key: "config"]?.objectEntries ?? []
        derived = try (doc[key: "config_derived"]?.objectEntries ?? []).map { entry in
            guard let e = entry.value.string else { throw fail("config_derived.\(entry.key) is not an expression") }
            return (entry.key, e)
        }
        fromShapes = try (doc[key: "config_from_shapes"]?.objectEntries ?? []).map { entry in
            guard let pair = entry.value.array, pair.count == 2, let t = pair[0].string, let d = pair[1].int, d >= 0 else {
                throw fail("config_from_shapes.\(entry.key) must be [tensor, dim] with dim ≥ 0")
            }
            return (entry.key, t, d)
        }

        var tensors = try (doc[key: "tensors"]?.array ?? []).map { try Self.rule($0, sourcePrefix: "", targetPrefix: "", fail) }
        var skips = try (doc[key: "skip"]?.array ?? []).map { try Self.skip($0, sourcePrefix: "", fail) }
        for include in doc[key: "include"]?.array ?? [] {
            guard let fname = include[key: "fragment"]?.string, let fragment = fragments[fname] else {
                throw fail("include names an unknown fragment")
            }
            let sp = include[key: "source"]?.string ?? "", tp = include[key: "target"]?.string ?? ""
            tensors += try (fragment[key: "tensors"]?.array ?? []).map { try Self.rule($0, sourcePrefix: sp, targetPrefix: tp, fail) }
            skips += try (fragment[key: "skip"]?.array ?? []).map { try Self.skip($0, sourcePrefix: sp, fail) }
        }
        self.tensors = tensors
        self.skips = skips
    }

    private static func rule(
        _ v: JSONValue, sourcePrefix: String, targetPrefix: String,
        _ fail: (String) -> ConvertError
    ) throws -> TensorRule {
        guard let source = v[key: "source"]?.string, let target = v[key: "target"]?.string, let shape = v[key: "shape"]?.array else {
            throw fail("a tensor rule needs source, target and shape")
        }
        func strings(_ key: String) throws -> [String: String] {
            try Dictionary(
                uniqueKeysWithValues: (v[key: key]?.objectEntries ?? []).map { e in
                    guard let s = e.value.string else { throw fail("\(source): \(key).\(e.key) is not an expression") }
                    return (e.key, s)
                })
        }
        var transform: Transform?
        if let t = v[key: "transform"]?.string {
            guard let known = Transform(rawValue: t) else { throw fail("\(source): unknown transform '\(t)'") }
            transform = known
        }
        return TensorRule(
            source: try NamePattern(sourcePrefix + source), target: targetPrefix + target, shape: shape,
            index: try strings("index"), step: try strings("step"), merge: v[key: "merge"]?.int, transform: transform)
    }

    private static func skip(_ v: JSONValue, sourcePrefix: String, _ fail: (String) -> ConvertError) throws -> SkipRule {
        guard let source = v[key: "source"]?.string, let reason = v[key: "reason"]?.string else {
            throw fail("a skip rule needs source and reason")
        }
        let beyond = try Dictionary(
            uniqueKeysWithValues: (v[key: "beyond"]?.objectEntries ?? []).map { e in
                guard let s = e.value.string else { throw fail("\(source): beyond.\(e.key) is not an expression") }
                return (e.key, s)
            })
        return SkipRule(
            source: try NamePattern(sourcePrefix + source), reason: reason, beyond: beyond,
            unused: v[key: "unused"]?.bool ?? false)
    }
}
