import Foundation
import Testing
import VLCore
import VLSafetensors

/// A fresh, empty folder under the system temporary directory, removed by the caller.
private func makeFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlpack-st-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func fileBytes(_ tensor: TensorBytes) -> [UInt8] {
    tensor.withUnsafeBytes { Array($0) }
}

private func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}

@Suite struct SafetensorsFileTests {
    @Test func unalignedDataIsReadCorrectly() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A 57-byte header puts the data section at file offset 65: nothing is aligned.
        var header = #"{"v":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#
        header += String(repeating: " ", count: 57 - header.utf8.count)
        let values: [Float] = [1.5, -2.25, .pi]
        let data = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
        let path = folder.appendingPathComponent("u.safetensors").path
        try Data(safetensorsBytes(header, data: data)).write(to: URL(fileURLWithPath: path))

        let file = try SafetensorsFile(path: path)
        #expect(file.dataStart == 65)
        let entry = try #require(file.entry(named: "v"))
        #expect(entry.storage.fileOffset == 65)
        let bytes = try file.bytes(of: entry)
        #expect(bytes.isZeroCopy)
        let read = bytes.withUnsafeBytes { b in
            (0..<3).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        #expect(read == values)
    }

    @Test func openErrorsNameTheFileAndRule() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.safetensors").path
        #expect(throws: SourceError.self) { try SafetensorsFile(path: missing) }
        do {
            _ = try SafetensorsFile(path: missing)
        } catch let error as SourceError {
            #expect(error.path == missing)
            #expect(error.rule == "cannotOpen")
        }

        let short = folder.appendingPathComponent("short.safetensors").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: short))
        do {
            _ = try SafetensorsFile(path: short)
            Issue.record("accepted a 3-byte file")
        } catch let error as SourceError {
            #expect(error.rule == "headerTooSmall")
            #expect(error.description.hasPrefix("\(short): headerTooSmall: "))
        }
    }

    @Test func unknownTensorIsRefused() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("e.safetensors").path
        try SafetensorsWriter(path: path).finish()
        let file = try SafetensorsFile(path: path)
        #expect(file.entries.isEmpty)
        let stranger = TensorEntry(
            name: "nope", dtype: .u8, shape: [1], strides: [1], storageOffset: 0,
            storage: StorageLocation(file: path, key: "nope", fileOffset: 0, byteCount: 1))
        do {
            _ = try file.bytes(of: stranger)
            Issue.record("served a tensor the file does not hold")
        } catch let error as SourceError {
            #expect(error.rule == "tensorNotFound")
        }
    }
}

@Suite struct SafetensorsWriterTests {
    @Test func roundTripLayoutAndPassthrough() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path

        let tensors: [(String, DType, [Int])] = [
            ("b.bias", .bf16, [5]),
            ("a.weight", .f32, [3, 2]),
            ("f8", .f8e4m3, [7]),
            ("f8b", .f8e5m2, [2, 2]),
            ("scalar", .f64, []),
            ("empty", .i64, [0, 4]),
            ("mask", .bool, [3]),
            ("idx", .i64, [2]),
            ("half", .f16, [1, 3]),
        ]
        var writer = SafetensorsWriter(path: path, metadata: ["format": "pt", "source": "vlpack test"])
        var expected: [String: [UInt8]] = [:]
        for (i, (name, dtype, shape)) in tensors.enumerated() {
            let bytes = pseudoRandomBytes(shape.reduce(1, *) * dtype.byteSize, seed: UInt64(i))
            expected[name] = bytes
            try writer.add(name: name, dtype: dtype, shape: shape, contents: bytes)
        }
        try writer.finish()

        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == ["format": "pt", "source": "vlpack test"])
        #expect(file.dataStart % 64 == 0)
        // Descending element size, then name.
        #expect(file.entries.map(\.name) == ["empty", "idx", "scalar", "a.weight", "b.bias", "half", "f8", "f8b", "mask"])
        for entry in file.entries {
            let (_, dtype, shape) = try #require(tensors.first { $0.0 == entry.name })
            #expect(entry.dtype == dtype)
            #expect(entry.shape == shape)
            #expect(try #require(entry.storage.fileOffset) % dtype.byteSize == 0)
            let bytes = try file.bytes(of: entry)
            #expect(fileBytes(bytes) == expected[entry.name])
        }
        // Only the final file remains: the temporary was renamed, not copied.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
    }

    @Test func headerIsSpacePaddedTo64() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("p.safetensors").path
        var writer = SafetensorsWriter(path: path)
        try writer.add(name: "x", dtype: .u8, shape: [1], contents: [42])
        try writer.finish()
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(raw.count == 65)
        let header = String(decoding: raw[8..<64], as: UTF8.self)
        #expect(header.hasPrefix(#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#))
        #expect(header.hasSuffix(" "))
        #expect(raw.last == 42)
    }

    @Test func streamsChunksAcrossTheBuffer() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("big.safetensors").path
        let big = pseudoRandomBytes(3 << 20, seed: 9)
        var writer = SafetensorsWriter(path: path)
        // Small chunks, then one chunk larger than the writer's buffer.
        try writer.add(name: "big", dtype: .f32, shape: [big.count / 4]) { write in
            try big.withUnsafeBytes { b in
                var offset = 0
                for size in [1, 3, 4096, 1 << 20, 2 << 20] where offset < b.count {
                    let end = min(b.count, offset + size)
                    try write(UnsafeRawBufferPointer(rebasing: b[offset..<end]))
                    offset = end
                }
                try write(UnsafeRawBufferPointer(rebasing: b[offset...]))
            }
        }
        try writer.finish()
        let file = try SafetensorsFile(path: path)
        #expect(fileBytes(try file.bytes(of: file.entries[0])) == big)
    }

    @Test func copiesTensorsFromAnotherSource() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = folder.appendingPathComponent("a.safetensors").path
        let second = folder.appendingPathComponent("b.safetensors").path
        var writer = SafetensorsWriter(path: first)
        try writer.add(name: "w", dtype: .bf16, shape: [2], contents: [1, 2, 3, 4])
        try writer.finish()
        let source = try SafetensorsFile(path: first)
        var copy = SafetensorsWriter(path: second)
        for entry in source.entries { try copy.add(entry, from: source) }
        try copy.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: first)) == Data(contentsOf: URL(fileURLWithPath: second)))
    }

    struct ProducerFailed: Error {}

    @Test func failureLeavesNoFileAndKeepsTheOldOne() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.safetensors").path
        var good = SafetensorsWriter(path: path)
        try good.add(name: "old", dtype: .u8, shape: [1], contents: [1])
        try good.finish()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        var failing = SafetensorsWriter(path: path)
        try failing.add(name: "a", dtype: .u8, shape: [2], contents: [1, 2])
        try failing.add(name: "b", dtype: .u8, shape: [4]) { write in
            try [UInt8]([1, 2]).withUnsafeBytes { try write($0) }
            throw ProducerFailed()
        }
        #expect(throws: ProducerFailed.self) { try failing.finish() }

        var short = SafetensorsWriter(path: path)
        try short.add(name: "s", dtype: .f32, shape: [2]) { write in try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try write($0) } }
        #expect(throws: SafetensorsWriteError.byteCountMismatch(tensor: "s", expected: 8, written: 4)) { try short.finish() }

        var long = SafetensorsWriter(path: path)
        try long.add(name: "l", dtype: .u8, shape: [2]) { write in try [UInt8](repeating: 0, count: 3).withUnsafeBytes { try write($0) } }
        #expect(throws: SafetensorsWriteError.byteCountMismatch(tensor: "l", expected: 2, written: 3)) { try long.finish() }

        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["m.safetensors"])
    }

    @Test func addRefusesBadTensors() throws {
        var writer = SafetensorsWriter(path: "/nonexistent/x.safetensors")
        try writer.add(name: "a", dtype: .u8, shape: [1], contents: [0])
        #expect(throws: SafetensorsWriteError.duplicateTensor(name: "a")) { try writer.add(name: "a", dtype: .u8, shape: [1], contents: [0]) }
        #expect(throws: SafetensorsWriteError.reservedName(name: "__metadata__")) {
            try writer.add(name: "__metadata__", dtype: .u8, shape: [0], contents: [])
        }
        #expect(throws: SafetensorsWriteError.invalidShape(tensor: "n", shape: [-1])) { try writer.add(name: "n", dtype: .u8, shape: [-1]) { _ in } }
        #expect(throws: SafetensorsWriteError.invalidShape(tensor: "o", shape: [1 << 62, 4])) {
            try writer.add(name: "o", dtype: .u8, shape: [1 << 62, 4]) { _ in }
        }
        #expect(throws: SafetensorsWriteError.byteCountMismatch(tensor: "c", expected: 4, written: 3)) {
            try writer.add(name: "c", dtype: .f32, shape: [1], contents: [0, 0, 0])
        }
        // The folder does not exist: creating the temporary file fails with an I/O rule.
        do {
            try writer.finish()
            Issue.record("wrote into a missing folder")
        } catch let error as SafetensorsWriteError {
            #expect(error.rule == "io")
        }
    }
}
