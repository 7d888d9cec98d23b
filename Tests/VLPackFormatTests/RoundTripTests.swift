import Foundation
import Testing
import VLCore
@testable import VLPackFormat

@Suite struct StorageTypeTests {
    @Test func blockSizesAndByteCounts() {
        #expect(StorageType(name: "Q4_K") == .blocks(.q4_k))
        #expect(StorageType(name: "F32") == .plain(.f32))
        #expect(StorageType(name: "q4_k") == nil)
        #expect(StorageType.allCases.count == DType.allCases.count + 5)
        #expect(StorageType.allCases.allSatisfy { StorageType(name: $0.name) == $0 })
        #expect(StorageType.blocks(.q8_0).byteCount(shape: [4, 64]) == 4 * 2 * 34)
        #expect(StorageType.blocks(.q4_0).byteCount(shape: [32]) == 18)
        #expect(StorageType.blocks(.q4_1).byteCount(shape: [0, 32]) == 0)
        #expect(StorageType.blocks(.q6_k).byteCount(shape: [3, 512]) == 6 * 210)
        #expect(StorageType.blocks(.q4_k).byteCount(shape: [256, 4]) == nil, "row of 4 is not a multiple of 256")
        #expect(StorageType.blocks(.q8_0).byteCount(shape: []) == nil, "0-d has no row")
        #expect(StorageType.plain(.f32).byteCount(shape: []) == 4)
        #expect(StorageType.plain(.f32).byteCount(shape: [-1]) == nil)
        #expect(StorageType.plain(.f64).byteCount(shape: [1 << 31, 1 << 31]) == nil, "overflow")
    }
}

@Suite struct RoundTripTests {
    @Test(arguments: VLPackAlignment.allCases)
    func everyStorageTypeRoundTrips(alignment: VLPackAlignment) throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.vlpack").path
        let sample = Sample.make()
        let summary = try sample.write(to: path, alignment: alignment)

        let file = try VLPackFile(path: path)
        #expect(file.preamble.alignment == alignment.rawValue)
        #expect(file.preamble.dataOffset % alignment.rawValue == 0)
        #expect(summary.fileSize == (try readFile(path).count))
        #expect(file.tensors == summary.tensors)
        #expect(file.parts == Sample.parts)
        #expect(file.tensors.map(\.name) == sample.plan.map(\.name), "table keeps plan order")
        for p in sample.plan {
            let t = try #require(file.tensor(named: p.name))
            #expect(t.storage == p.storage && t.shape == p.shape && t.source == p.source && t.quant == p.quant)
            let bytes = file.bytes(of: t)
            #expect(bytes.isZeroCopy)
            #expect(bytes.withUnsafeBytes(Array.init) == sample.contents[p.name])
            if t.nbytes > 0 {
                // The mapping is page aligned, so file alignment is pointer alignment.
                #expect(Int(bitPattern: bytes.buffer.baseAddress) % alignment.rawValue == 0, "\(p.name)")
            }
            #expect(file.computeCRC32(of: t) == t.crc32)
        }
        #expect(file.verifyIntegrity().isEmpty)

        // TensorSource view: plain tensors as themselves, blocks as raw U8.
        let q = try #require(file.entry(named: "q.q4_k"))
        #expect(q.dtype == .u8 && q.shape == [2 * 144])
        let bf = try #require(file.entry(named: "llama.embed_tokens.weight"))
        #expect(bf.dtype == .bf16 && bf.shape == [13, 9] && bf.storage.fileOffset == file.preamble.dataOffset + file.tensor(named: bf.name)!.offset)
        #expect(try file.bytes(of: bf).withUnsafeBytes(Array.init) == sample.contents[bf.name])
        let foreign = TensorEntry(
            name: "absent", dtype: .u8, shape: [1], strides: [1], storageOffset: 0,
            storage: StorageLocation(file: path, key: "absent", fileOffset: 0, byteCount: 1))
        #expect(throws: VLPackError.unknownTensor(name: "absent")) { try file.bytes(of: foreign) }
    }

    @Test func writingIsDeterministicAndIndependentOfChunking() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sample = Sample.make()
        let a = folder.appendingPathComponent("a.vlpack").path
        let b = folder.appendingPathComponent("b.vlpack").path
        try sample.write(to: a)
        let writer = try VLPackWriter(path: b, plan: sample.plan, parts: Sample.parts)
        for p in sample.plan { try writer.write(tensor: p.name, contents: sample.contents[p.name]!) }
        try writer.finish()
        #expect(try readFile(a) == readFile(b))
    }

    @Test func emptyPlanGivesAValidFile() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("e.vlpack").path
        let summary = try VLPackWriter(path: path, plan: []).finish()
        let file = try VLPackFile(path: path)
        #expect(file.tensors.isEmpty && file.preamble.dataLength == 0 && summary.fileSize == file.preamble.dataOffset)
        #expect(file.verifyIntegrity().isEmpty)
        // Trailing empty tensors at an aligned offset past the last byte: the file is extended.
        let p2 = folder.appendingPathComponent("e2.vlpack").path
        let w = try VLPackWriter(path: p2, plan: [.init(name: "a", dtype: .u8, shape: [3]), .init(name: "z", dtype: .f32, shape: [0])])
        try w.write(tensor: "a", contents: [1, 2, 3])
        try w.write(tensor: "z", contents: [])
        try w.finish()
        let f2 = try VLPackFile(path: p2)
        #expect(f2.tensor(named: "z")?.offset == 64 && f2.preamble.dataLength == 64)
        #expect(f2.verifyIntegrity().isEmpty)
    }

    /// Open-time is O(header): opening never reads tensor bytes. Proven structurally: destroy every
    /// byte of the data section; opening still succeeds (and views still work), only
    /// `verifyIntegrity()` notices — naming every non-empty tensor.
    @Test func openDoesNotReadTensorData() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.vlpack").path
        let sample = Sample.make()
        try sample.write(to: path)
        var bytes = try readFile(path)
        let dataOffset = try VLPackFile(path: path).preamble.dataOffset
        for i in dataOffset..<bytes.count { bytes[i] ^= 0xA5 }
        try writeFile(path, bytes)

        let file = try VLPackFile(path: path)
        let problems = file.verifyIntegrity()
        let named = Set(problems.compactMap(\.tensor))
        #expect(named == Set(file.tensors.filter { $0.nbytes > 0 }.map(\.name)))
        #expect(problems.contains { $0.tensor == nil && $0.error.rule == "nonZeroPadding" })
        #expect(problems.filter { $0.tensor != nil }.allSatisfy { $0.error.rule == "tensorChecksumMismatch" })
    }
}
