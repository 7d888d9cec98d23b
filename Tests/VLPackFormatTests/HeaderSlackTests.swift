import Foundation
import Testing
import VLCore
@testable import VLPackFormat

/// `headerSlack` + `setQuant`: values measured while writing fit the reserved header bytes; unused
/// bytes become JSON whitespace; a header that outgrows the reservation is refused.
@Suite struct HeaderSlackTests {
    static let plan = [VLPackTensorPlan(name: "w", storage: .plain(.f32), shape: [2], quant: ["type": "F32"])]
    static let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0]

    @Test func measuredValuesFitTheSlack() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.vlpack").path
        let writer = try VLPackWriter(path: path, plan: Self.plan, headerSlack: 64)
        try writer.write(tensor: "w", contents: Self.data)
        try writer.setQuant(["type": "F32", "rmse": 0.125], forTensor: "w")
        try writer.finish()
        let file = try VLPackFile(path: path)
        #expect(file.tensor(named: "w")?.quant == ["type": "F32", "rmse": 0.125])
        #expect(file.verifyIntegrity().isEmpty)
        // The unused slack is whitespace inside the JSON text, before its closing brace.
        let bytes = try readFile(path)
        let header = bytes[64..<(64 + file.preamble.headerLength)]
        #expect(header.last == UInt8(ascii: "}"))
        #expect(header.dropLast().last == UInt8(ascii: " "))
    }

    @Test func outgrowingTheSlackIsRefused() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("b.vlpack").path
        let writer = try VLPackWriter(path: path, plan: Self.plan, headerSlack: 4)
        try writer.write(tensor: "w", contents: Self.data)
        try writer.setQuant(["type": "F32", "reason": "a reason much longer than four bytes"], forTensor: "w")
        #expect(throws: VLPackWriteError.self) { try writer.finish() }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
