import Foundation
import Testing
import VLTestSupport

/// `vlpack tokenize` / `detokenize` against the ids and texts of `Fixtures/tokenizer/cases.json`
/// (computed by the `sentencepiece` package), on a `tokenizer.model` and on a converted `.vlpack`.
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"))
struct TokenizeCommandTests {
    struct Case {
        let text: String
        let ids: [Int]
        let pieces: [String]
        let decoded: String
    }

    /// The sample tokenizer's cases whose text can be a command-line argument (no NUL).
    static let cases: [Case] = {
        let data = try! Data(contentsOf: CLI.root.appendingPathComponent("Fixtures/tokenizer/cases.json"))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        let model = (root["models"] as! [[String: Any]]).first { $0["name"] as! String == "sample" }!
        return (model["cases"] as! [[String: Any]]).map {
            Case(text: $0["text"] as! String, ids: $0["ids"] as! [Int], pieces: $0["pieces"] as! [String], decoded: $0["decoded"] as! String)
        }.filter { !$0.text.contains("\u{0}") }
    }()

    static let model = "Fixtures/samples/llama-hf/tokenizer.model"

    static func json(_ r: Subprocess) throws -> (ids: [Int], pieces: [String]) {
        let object = try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object.keys.sorted() == ["ids", "pieces"])
        return (try #require(object["ids"] as? [Int]), try #require(object["pieces"] as? [String]))
    }

    /// A fresh temporary folder, removed afterwards.
    static func withFolder(_ body: (URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir)
    }

    /// The sample LLM converted into a `.vlpack` in a temporary folder.
    static func withSamplePack(_ body: (_ pack: String, _ dir: URL) throws -> Void) throws {
        try withFolder { dir in
            let pack = dir.appendingPathComponent("llm.vlpack").path
            let convert = try CLI.run(["convert", "Fixtures/samples/llama-hf", "--config", "Fixtures/samples/convert-config.json", "-o", pack])
            try #require(convert.status == 0, "\(convert.stderr)")
            try body(pack, dir)
        }
    }

    @Test func jsonIdsAndPiecesEqualSentencePiece() throws {
        let picked = Self.cases.filter {
            ["", "  leading", "</s>", "<s> hello </s>", "###Human: Hello###Assistant:", "family 👨‍👩‍👧‍👦 and 👩‍💻 coder"].contains($0.text)
                || $0.text.hasPrefix("[INST] <<SYS>>")
        }
        #expect(picked.count == 8)
        for c in picked {
            let r = try CLI.run(["tokenize", Self.model, "--text", c.text, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let (ids, pieces) = try Self.json(r)
            #expect(ids == c.ids && pieces == c.pieces, "\(c.text.debugDescription)")
            let back = try CLI.run(["detokenize", Self.model, "--ids", c.ids.map(String.init).joined(separator: ",")])
            #expect(Array(back.stdout.utf8) == Array((c.decoded + "\n").utf8))
        }
    }

    @Test func bosPlainOutputAndFile() throws {
        let c = try #require(Self.cases.first { $0.text == "[INST] <<SYS>>\n\n<</SYS>>\n\nDescribe the video. [/INST]" })
        let r = try CLI.run(["tokenize", Self.model, "--text", c.text, "--bos"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "ids: " + ([1] + c.ids).map(String.init).joined(separator: ","))
        #expect(lines[1] == "1\t<s>" && lines[2] == "\(c.ids[0])\t\(c.pieces[0])")
        try Self.withFolder { dir in
            let file = dir.appendingPathComponent("prompt.txt")
            try Data(c.text.utf8).write(to: file)
            #expect(try Self.json(CLI.run(["tokenize", Self.model, "--file", file.path, "--json"])).ids == c.ids)
        }
    }

    @Test func aConvertedVLPackCarriesTheTokenizer() throws {
        try Self.withSamplePack { pack, dir in
            let c = try #require(Self.cases.first { $0.text == "###Human: <Video><ImageHere></Video> What happens?###Assistant:" })
            #expect(try Self.json(CLI.run(["tokenize", pack, "--text", c.text, "--json"])).ids == c.ids)
            #expect(
                try CLI.run(["detokenize", pack, "--ids", c.ids.map(String.init).joined(separator: ",")]).stdout.utf8.elementsEqual((c.decoded + "\n").utf8))
            // A .vlpack without the LLM has no tokenizer.
            let vision = dir.appendingPathComponent("vision.vlpack").path
            let s = "Fixtures/samples/"
            try #require(try CLI.run(["convert", s + "eva_vit_g.pth", "--config", s + "convert-config.json", "-o", vision]).status == 0)
            let none = try CLI.run(["tokenize", vision, "--text", "x"])
            #expect(none.status == 1 && none.stderr.hasPrefix("vlpack: error: \(vision): missingTokenizerTensor:"), "\(none.stderr)")
        }
    }

    /// --special on a .vlpack: transformers 4.28.0's slow LlamaTokenizer with Video-LLaMA's added tokens
    /// (`Fixtures/tokenizer/llama-cases.json`); with --bos it is LlamaTokenizer's `encode(text)`.
    @Test func specialSplitsLikeLlamaTokenizer() throws {
        let data = try Data(contentsOf: CLI.root.appendingPathComponent("Fixtures/tokenizer/llama-cases.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]]).prefix(17)  // the special-token cases come first
        try Self.withSamplePack { pack, _ in
            for c in cases {
                let text = try #require(c["text"] as? String), ids = try #require(c["ids"] as? [Int]), tokens = try #require(c["tokens"] as? [String])
                let r = try Self.json(CLI.run(["tokenize", pack, "--special", "--bos", "--text", text, "--json"]))
                #expect(r.ids == [1] + ids && r.pieces == ["<s>"] + tokens, "\(text.debugDescription)")
            }
        }
    }

    @Test func errorsAreOneLineNamingTheRule() throws {
        let out = try CLI.run(["detokenize", Self.model, "--ids", "1,512"])
        #expect(out.status == 1 && out.stderr == "vlpack: error: \(Self.model): idOutOfRange: id 512 is outside 0..<512\n")
        let notModel = try CLI.run(["tokenize", "Fixtures/samples/convert-config.json", "--text", "x"])
        #expect(notModel.status == 1 && notModel.stderr.contains("malformed"))
        #expect(try CLI.run(["tokenize", Self.model]).status == 64)
        #expect(try CLI.run(["tokenize", Self.model, "--text", "a", "--file", Self.model]).status == 64)
        #expect(try CLI.run(["detokenize", Self.model, "--ids", "1,x"]).status == 64)
    }
}
