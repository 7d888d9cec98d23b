import Foundation
import Testing
import VLCore
@testable import VLPackFormat

@Suite struct WriterTests {
    struct ProducerFailed: Error {}

    private func listing(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test func throwingProducerLeavesNoFileAndKeepsTheOldOne() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.vlpack").path

        // No file before: none after.
        let w1 = try VLPackWriter(path: path, plan: [.init(name: "a", dtype: .u8, shape: [4]), .init(name: "b", dtype: .u8, shape: [4])])
        try w1.write(tensor: "a", contents: [1, 2, 3, 4])
        #expect(throws: ProducerFailed.self) {
            try w1.write(tensor: "b") { write in
                try [UInt8]([1, 2]).withUnsafeBytes { try write($0) }
                throw ProducerFailed()
            }
        }
        #expect(try listing(folder).isEmpty)
        #expect(throws: VLPackWriteError.closed(path: path)) { try w1.finish() }

        // An existing file is left byte for byte.
        try Sample.make().write(to: path)
        let before = try readFile(path)
        let w2 = try VLPackWriter(path: path, plan: [.init(name: "a", dtype: .u8, shape: [4])])
        #expect(throws: ProducerFailed.self) { try w2.write(tensor: "a") { _ in throw ProducerFailed() } }
        #expect(try readFile(path) == before)
        #expect(try listing(folder) == ["m.vlpack"])
    }

    @Test func droppingAnUnfinishedWriterRemovesTheTemporaryFile() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            let w = try VLPackWriter(path: folder.appendingPathComponent("m.vlpack").path, plan: [.init(name: "a", dtype: .u8, shape: [2])])
            try w.write(tensor: "a", contents: [1, 2])
            // Unnamed (O_TMPFILE) temporaries have no directory entry; the named fallback has one.
            let visible = AtomicFile.Strategy.preferred == .unnamed ? 0 : 1
            #expect(try listing(folder).count == visible, "the temporary file while writing")
        }
        #expect(try listing(folder).isEmpty)
    }

    @Test func sizeOrderAndCompletenessAreEnforced() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.vlpack").path
        let plan: [VLPackTensorPlan] = [.init(name: "a", dtype: .f32, shape: [2]), .init(name: "b", dtype: .u8, shape: [1])]

        var w = try VLPackWriter(path: path, plan: plan)
        #expect(throws: VLPackWriteError.outOfOrder(expected: "a", got: "b")) { try w.write(tensor: "b", contents: [0]) }
        w = try VLPackWriter(path: path, plan: plan)
        #expect(throws: VLPackWriteError.byteCountMismatch(tensor: "a", expected: 8, written: 4)) { try w.write(tensor: "a", contents: [0, 0, 0, 0]) }
        w = try VLPackWriter(path: path, plan: plan)
        #expect(throws: VLPackWriteError.byteCountMismatch(tensor: "a", expected: 8, written: 9)) {
            try w.write(tensor: "a", contents: [UInt8](repeating: 0, count: 9))
        }
        w = try VLPackWriter(path: path, plan: plan)
        try w.write(tensor: "a", contents: [UInt8](repeating: 0, count: 8))
        #expect(throws: VLPackWriteError.incomplete(missing: "b")) { try w.finish() }
        w = try VLPackWriter(path: path, plan: plan)
        try w.write(tensor: "a", contents: [UInt8](repeating: 0, count: 8))
        try w.write(tensor: "b", contents: [9])
        #expect(throws: VLPackWriteError.outOfOrder(expected: nil, got: "b")) { try w.write(tensor: "b", contents: [9]) }
        #expect(try listing(folder).isEmpty, "every failure removed its temporary file")
    }

    @Test func invalidPlansAreRefusedBeforeAnythingIsWritten() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.vlpack").path
        #expect(throws: VLPackWriteError.duplicateTensor(name: "a")) {
            try VLPackWriter(path: path, plan: [.init(name: "a", dtype: .u8, shape: [1]), .init(name: "a", dtype: .u8, shape: [1])])
        }
        #expect(throws: VLPackWriteError.invalidName(name: "")) { try VLPackWriter(path: path, plan: [.init(name: "", dtype: .u8, shape: [1])]) }
        #expect(throws: VLPackWriteError.invalidShape(tensor: "q", shape: [2, 48], dtype: "Q8_0")) {
            try VLPackWriter(path: path, plan: [.init(name: "q", storage: .blocks(.q8_0), shape: [2, 48])])
        }
        #expect(throws: VLPackWriteError.invalidShape(tensor: "n", shape: [-3], dtype: "F32")) {
            try VLPackWriter(path: path, plan: [.init(name: "n", dtype: .f32, shape: [-3])])
        }
        #expect(throws: VLPackWriteError.invalidHeaderPart(key: "components")) {
            try VLPackWriter(path: path, plan: [], parts: VLPackHeaderParts(components: ["not", "an", "object"]))
        }
        #expect(throws: VLPackWriteError.badTensorReference(field: "tokenizer.model_tensor", tensor: "tok")) {
            try VLPackWriter(
                path: path, plan: [.init(name: "tok", dtype: .i8, shape: [1])],
                parts: VLPackHeaderParts(tokenizer: ["model_tensor": "tok"]))
        }
        #expect(throws: VLPackWriteError.self) { try VLPackWriter(path: "/nonexistent-folder/m.vlpack", plan: []) }
        #expect(try listing(folder).isEmpty)
    }

    @Test func refusesToOverwriteAnInput() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("model.pth").path
        try writeFile(input, [1, 2, 3])
        let link = folder.appendingPathComponent("alias.vlpack").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        let other = folder.appendingPathComponent("other.bin").path
        try writeFile(other, [0])

        #expect(throws: VLPackWriteError.overwritesInput(path: input, input: input)) {
            try VLPackWriter(path: input, plan: [], inputs: [other, input])
        }
        // Another spelling of the same file (a symlink, a `..` path) is the same input.
        #expect(throws: VLPackWriteError.overwritesInput(path: link, input: input)) { try VLPackWriter(path: link, plan: [], inputs: [input]) }
        let dotted = folder.appendingPathComponent("sub/../model.pth").path
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        #expect(throws: VLPackWriteError.overwritesInput(path: dotted, input: input)) { try VLPackWriter(path: dotted, plan: [], inputs: [input]) }
        #expect(try readFile(input) == [1, 2, 3])
        // A different path is fine.
        try VLPackWriter(path: folder.appendingPathComponent("out.vlpack").path, plan: [], inputs: [input]).finish()
    }

    /// With a tiny cache-drop interval the fdatasync/fadvise path runs on every chunk; the output must
    /// be identical.
    @Test func cacheDroppingDoesNotChangeTheOutput() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.vlpack").path
        let b = folder.appendingPathComponent("b.vlpack").path
        let data = randomBytes(3 << 20, seed: 9)
        for (path, interval) in [(a, Int?.none), (b, 1 << 20)] {
            let w = try VLPackWriter(path: path, plan: [.init(name: "big", dtype: .u8, shape: [data.count])], cacheDropInterval: interval)
            try w.write(tensor: "big") { write in
                try data.withUnsafeBytes { raw in
                    for start in stride(from: 0, to: raw.count, by: 300_000) {
                        try write(UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + 300_000)]))
                    }
                }
            }
            try w.finish()
        }
        #expect(try readFile(a) == readFile(b))
        #expect(try VLPackFile(path: b).verifyIntegrity().isEmpty)
    }
}
