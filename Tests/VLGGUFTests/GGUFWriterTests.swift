import Foundation
import Testing
import VLCore
import VLGGUF
import VLTestSamples

/// The writer's plan rules, each refused with its own `GGUFError` rule and nothing left behind.
@Suite struct GGUFWriterTests {
    static let plan = [GGUFTensorInfo(name: "a", dims: [32, 2], type: .q8_0), GGUFTensorInfo(name: "b", dims: [3], type: .f32)]

    /// Runs `body` on a fresh writer; returns the rule it threw and whether any file is left.
    func refusal(_ body: (GGUFWriter) throws -> Void) throws -> (rule: String?, leftovers: [String]) {
        let dir = try Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try GGUFWriter(path: "\(dir)/out.gguf", metadata: [("general.name", .string("t"))], tensors: Self.plan)
        var rule: String?
        do { try body(writer) } catch let e as GGUFError { rule = e.rule }
        return (rule, try FileManager.default.contentsOfDirectory(atPath: dir))
    }

    @Test func planRulesAreGGUFErrors() throws {
        let q8Row = [UInt8](repeating: 0, count: 2 * 34), f32s = [UInt8](repeating: 0, count: 12)
        let outOfOrder = try refusal { try $0.write(tensor: "b") { try f32s.withUnsafeBytes($0) } }
        #expect(outOfOrder.rule == "outOfOrder" && outOfOrder.leftovers.isEmpty)
        let short = try refusal { try $0.write(tensor: "a") { try q8Row.dropLast().withUnsafeBytes($0) } }
        #expect(short.rule == "byteCountMismatch" && short.leftovers.isEmpty)
        let incomplete = try refusal { w in
            try w.write(tensor: "a") { try q8Row.withUnsafeBytes($0) }
            try w.finish()
        }
        #expect(incomplete.rule == "incomplete" && incomplete.leftovers.isEmpty)
        let closed = try refusal { w in
            w.cancel()
            try w.write(tensor: "a") { try q8Row.withUnsafeBytes($0) }
        }
        #expect(closed.rule == "closed")
        #expect(throws: GGUFError.invalidShape(tensor: "c", dims: [31], type: "q8_0")) {
            _ = try GGUFWriter(path: "/nonexistent/c.gguf", metadata: [], tensors: [GGUFTensorInfo(name: "c", dims: [31], type: .q8_0)])
        }
    }

    @Test func detailsNameWhatFailed() {
        #expect(GGUFError.missingComponent(component: "llm").description == "missingComponent: the .vlpack has no llm component")
        #expect(
            GGUFError.vocabularyExceedsEmbeddings(pieces: 512, rows: 500).description
                == "vocabularyExceedsEmbeddings: tokenizer.model has 512 pieces but the embeddings only 500 rows")
        #expect(GGUFError.unsupportedStorage(tensor: "llm.x", storage: "I64").description == "unsupportedStorage: cannot convert 'llm.x' from I64 to gguf")
    }
}
