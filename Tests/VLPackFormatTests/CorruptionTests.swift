import Foundation
import Testing
import VLCore
@testable import VLPackFormat

/// Acceptance 4: every single-byte flip anywhere in a file is detected — at open, or by
/// `verifyIntegrity()` naming the damaged tensor — and every truncation is refused on open.
@Suite struct CorruptionTests {
    /// Outcome of opening and verifying one damaged copy.
    enum Outcome: Equatable {
        case refusedAtOpen(rule: String)
        case problems(tensors: Set<String>, rules: Set<String>)
        case undetected
    }

    static func check(_ bytes: [UInt8], at path: String) throws -> Outcome {
        try writeFile(path, bytes)
        let file: VLPackFile
        do {
            file = try VLPackFile(path: path)
        } catch let e as VLPackError {
            return .refusedAtOpen(rule: e.rule)
        }
        let problems = file.verifyIntegrity()
        if problems.isEmpty { return .undetected }
        return .problems(tensors: Set(problems.compactMap(\.tensor)), rules: Set(problems.map(\.error.rule)))
    }

    @Test(arguments: VLPackAlignment.allCases)
    func everyFlippedByteIsDetected(alignment: VLPackAlignment) throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.vlpack").path
        try Sample.make().write(to: good, alignment: alignment)
        let original = try readFile(good)
        let file = try VLPackFile(path: good)
        let dataOffset = file.preamble.dataOffset
        let jsonEnd = 64 + file.preamble.headerLength

        // Every preamble byte, plus 500 positions drawn with a fixed seed over the whole file, plus the
        // first and last byte of each region.
        var g = SeededGenerator(seed: 0x564C_5041_434B + UInt64(alignment.rawValue))
        var positions = Array(0..<64) + [64, jsonEnd - 1, jsonEnd, dataOffset - 1, dataOffset, original.count - 1]
        positions += (0..<500).map { _ in Int.random(in: 0..<original.count, using: &g) }
        let path = folder.appendingPathComponent("bad.vlpack").path
        var byRegion: [String: Int] = [:]
        for pos in positions {
            var bytes = original
            bytes[pos] ^= UInt8.random(in: 1...255, using: &g)
            let outcome = try Self.check(bytes, at: path)
            #expect(outcome != .undetected, "flip at \(pos) went unnoticed")
            if pos >= dataOffset {
                let rel = pos - dataOffset
                if let t = file.tensors.first(where: { rel >= $0.offset && rel < $0.offset + $0.nbytes }) {
                    #expect(outcome == .problems(tensors: [t.name], rules: ["tensorChecksumMismatch"]), "flip at \(pos) in \(t.name)")
                    byRegion["tensor", default: 0] += 1
                } else {
                    #expect(outcome == .problems(tensors: [], rules: ["nonZeroPadding"]), "flip at \(pos) in data padding")
                    byRegion["data padding", default: 0] += 1
                }
            } else {
                guard case let .refusedAtOpen(rule) = outcome else {
                    Issue.record("flip at \(pos) in the header area was not refused at open: \(outcome)")
                    continue
                }
                let expected: Set<String> =
                    switch pos {
                    case 0..<8: ["badMagic"]
                    case 8..<12: ["unsupportedVersion"]
                    case 12..<64: ["preambleChecksumMismatch"]
                    case 64..<jsonEnd: ["headerChecksumMismatch"]
                    default: ["badHeaderPadding"]
                    }
                #expect(expected.contains(rule), "flip at \(pos): \(rule)")
                byRegion[pos < 64 ? "preamble" : "header", default: 0] += 1
            }
        }
        // The draw must actually have covered every region.
        for region in ["preamble", "header", "tensor", "data padding"] {
            #expect(byRegion[region, default: 0] > 0, "no flip landed in \(region)")
        }
    }

    @Test(arguments: VLPackAlignment.allCases)
    func truncatedAndExtendedFilesAreRefusedOnOpen(alignment: VLPackAlignment) throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.vlpack").path
        try Sample.make().write(to: good, alignment: alignment)
        let original = try readFile(good)
        var g = SeededGenerator(seed: 7)
        var lengths = Array(0...130) + [original.count - 1]
        lengths += (0..<150).map { _ in Int.random(in: 0..<original.count, using: &g) }
        let path = folder.appendingPathComponent("cut.vlpack").path
        for n in lengths {
            try writeFile(path, Array(original[0..<n]))
            #expect(throws: VLPackError.self, "length \(n)") { try VLPackFile(path: path) }
            do { _ = try VLPackFile(path: path) } catch let e as VLPackError { #expect(e.rule == "truncated", "length \(n): \(e)") }
        }
        try writeFile(path, original + [0])
        #expect(throws: VLPackError.trailingBytes(expected: original.count, actual: original.count + 1)) { try VLPackFile(path: path) }
    }
}

/// Hand-made files that break exactly one rule each.
@Suite struct CraftedHeaderTests {
    static func row(
        _ name: String, _ dtype: String = "U8", shape: [Int] = [4], offset: Int = 0, nbytes: Int = 4,
        crc: String = "00000000"
    ) -> String {
        #"{"name":"\#(name)","dtype":"\#(dtype)","shape":\#(shape),"offset":\#(offset),"nbytes":\#(nbytes),"crc32":"\#(crc)"}"#
    }

    static func header(_ rows: [String], extra: String = "") -> String {
        #"{"format":"vlpack","version":1\#(extra),"tensors":[\#(rows.joined(separator: ","))]}"#
    }

    static func open(_ bytes: [UInt8]) throws -> VLPackFile {
        let folder = FileManager.default.temporaryDirectory
        let path = folder.appendingPathComponent("vlpack-crafted-\(UUID().uuidString).vlpack").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writeFile(path, bytes)
        return try VLPackFile(path: path)
    }

    static let data = [UInt8](repeating: 0, count: 192)

    struct Case: Sendable, CustomTestStringConvertible {
        let rule: String
        let json: String
        var alignment = 64
        var patch: (@Sendable (inout [UInt8]) -> Void)? = nil
        var testDescription: String { rule }
    }

    static let cases: [Case] = [
        Case(rule: "duplicateTensor", json: header([row("a"), row("a", offset: 64)])),
        Case(rule: "overlappingTensors", json: header([row("a", shape: [128], nbytes: 128), row("b", offset: 64)])),
        Case(rule: "overlappingTensors", json: header([row("a", offset: 64), row("b", offset: 0)])),
        Case(rule: "misalignedTensor", json: header([row("a", offset: 8)])),
        Case(rule: "unknownDType", json: header([row("a", "F128")])),
        Case(rule: "sizeMismatch", json: header([row("a", "F32", shape: [4], nbytes: 4)])),
        Case(rule: "invalidShape", json: header([row("a", "Q4_0", shape: [33], nbytes: 18)])),
        Case(rule: "invalidShape", json: header([row("a", "F32", shape: [-1], nbytes: 0)])),
        Case(rule: "invalidShape", json: header([row("a", "F64", shape: [1 << 31, 1 << 31], nbytes: 0)])),
        Case(rule: "tensorOutOfBounds", json: header([row("a", shape: [200], nbytes: 200)])),
        Case(rule: "tensorOutOfBounds", json: header([row("a", offset: 9_223_372_036_854_775_744)])),
        Case(rule: "invalidHeader", json: header([row("a", crc: "0000000G")])),
        Case(rule: "invalidHeader", json: header([row("a", crc: "ABCDEF01")])),
        Case(rule: "invalidHeader", json: header([row("a", shape: [4], offset: -64)])),
        Case(rule: "invalidHeader", json: header([row("")])),
        Case(rule: "invalidHeader", json: #"{"format":"gguf","version":1,"tensors":[]}"#),
        Case(rule: "invalidHeader", json: #"{"format":"vlpack","version":2,"tensors":[]}"#),
        Case(rule: "invalidHeader", json: #"{"format":"vlpack","version":1}"#),
        Case(rule: "invalidHeader", json: header([], extra: #","components":[]"#)),
        Case(rule: "invalidHeader", json: header([row("a").replacingOccurrences(of: "[4]", with: "[4.0]")])),
        Case(rule: "invalidHeaderJSON", json: #"{"format":"vlpack","format":"vlpack","version":1,"tensors":[]}"#),
        Case(rule: "invalidHeaderJSON", json: #"{"format":"vlpack","version":1,"tensors":[]"#),
        Case(rule: "badTensorReference", json: header([row("a", "I8")], extra: #","tokenizer":{"model_tensor":"a"}"#)),
        Case(rule: "badTensorReference", json: header([], extra: #","tokenizer":{"model_tensor":"tokenizer.model"}"#)),
        Case(rule: "badMagic", json: header([]), patch: { $0[0] = UInt8(ascii: "G") }),
        Case(rule: "unsupportedVersion", json: header([]), patch: { $0[8] = 2 }),
        Case(rule: "unsupportedFlags", json: header([]), patch: { $0[12] = 1 }),
        Case(rule: "nonZeroReserved", json: header([]), patch: { $0[55] = 1 }),
        Case(rule: "badAlignment", json: header([]), patch: { $0[28] = 32 }),
        Case(rule: "headerTooLarge", json: header([]), patch: { $0[23] = 0x40 }),
        Case(rule: "dataOffsetMismatch", json: header([]), patch: { $0[32] &+= 64 }),
        Case(rule: "truncated", json: header([]), patch: { $0[47] = 0x80 }),
    ]

    @Test(arguments: cases)
    func craftedHeaderIsRefusedWithItsRule(_ c: Case) throws {
        let bytes = craftFile(json: c.json, data: Self.data, alignment: c.alignment, patch: c.patch)
        do {
            _ = try Self.open(bytes)
            Issue.record("accepted a file breaking \(c.rule)")
        } catch let e as VLPackError {
            #expect(e.rule == c.rule, "\(e)")
        }
    }

    @Test func wellFormedCraftedFileIsAccepted() throws {
        var data = Self.data
        data[64] = 7
        let crc = crcHexOf([7, 0, 0, 0])
        let json = Self.header(
            [
                Self.row("a", crc: crcHexOf([0, 0, 0, 0])), Self.row("b", offset: 64, crc: crc),
                Self.row("c", shape: [0], offset: 128, nbytes: 0),
            ],
            extra: #","tokenizer":{"model_tensor":"b"},"future":{"ignored":true}"#)
        let file = try Self.open(craftFile(json: json, data: data))
        #expect(file.tensors.map(\.name) == ["a", "b", "c"])
        #expect(file.verifyIntegrity().isEmpty)
        // Padding between tensors is covered by verifyIntegrity.
        data[100] = 1
        let damaged = try Self.open(craftFile(json: json, data: data))
        #expect(damaged.verifyIntegrity().map(\.error) == [.nonZeroPadding(offset: damaged.preamble.dataOffset + 68, length: 60)])
    }

    @Test func headerPaddingMustBeSpaces() throws {
        var bytes = craftFile(json: Self.header([]), data: [])
        let jsonEnd = 64 + Self.header([]).utf8.count
        bytes[jsonEnd] = 0
        #expect(throws: VLPackError.badHeaderPadding(offset: jsonEnd)) { try Self.open(bytes) }
    }
}
