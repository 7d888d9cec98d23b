import VLConvert
import VLCore

/// The maps shipped with VLPack, parsed once: their fragments let a fuzzed map use `include`, and
/// the maps themselves receive a fuzzed document as the `--config` file.
enum Shipped {
    static let documents = try! ModelMap.bundledDocuments()
    static let fragments = documents.filter { $0.value[key: "fragment"] != nil }
    static let maps = try! ModelMap.load(documents: documents)
}

/// Any tensor the config assembly asks about has this shape, so `config_from_shapes` rules run.
private func someShape(_ name: String) -> [Int]? { [4, 8, 2] }

/// libFuzzer entry point for VLPack's JSON parser and what consumes its documents: the input is a
/// whole JSON file. Checks that every accepted document survives serialize → parse unchanged (both
/// layouts) and that serializing is a fixed point; then reads it as HF `config.json`, Meta
/// `params.json`, a model map (with the shipped fragments) and a `--config` file for every shipped
/// map. Refusals are expected; crashes, hangs and broken round trips are findings.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let value = try? JSONValue.parse(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    for pretty in [false, true] {
        let text = value.serialized(pretty: pretty)
        let again: JSONValue
        do { again = try JSONValue.parse(text) } catch { fatalError("serialized document is refused (\(error.detail)): \(text)") }
        precondition(again == value, "round trip changed the document: \(text)")
        precondition(again.serialized(pretty: pretty) == text, "serializing is not a fixed point: \(text)")
    }

    _ = try? LLMConfigFile.hf(value, origin: "fuzz.json")
    _ = try? LLMConfigFile.meta(value, origin: "fuzz.json")

    var documents = Shipped.fragments
    documents["fuzz.json"] = value
    if let maps = try? ModelMap.load(documents: documents) {
        for map in maps.values { _ = try? map.config(fileConfig: [], overrides: [:], shape: someShape) }
    }
    for map in Shipped.maps.values { _ = try? map.config(fileConfig: [], overrides: value, shape: someShape) }
    return 0
}
