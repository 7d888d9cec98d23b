import Testing
import VLCore
import VLSafetensors

/// A safetensors file in memory: 8-byte length (`length`, or the header's own), header, data.
func safetensorsBytes(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    safetensorsBytes(headerBytes: Array(header.utf8), data: data, length: length)
}

func safetensorsBytes(headerBytes: [UInt8], data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian, Array.init) + headerBytes + data
}

func parseHeader(_ bytes: [UInt8]) throws(SafetensorsError) -> SafetensorsHeader {
    let result = bytes.withUnsafeBytes { buffer in
        Result { () throws(SafetensorsError) -> SafetensorsHeader in
            try SafetensorsFile.parseHeader(buffer, fileName: "mem.safetensors")
        }
    }
    return try result.get()
}

private func info(_ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
    #"{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":[\#(begin),\#(end)]}"#
}

@Suite struct SafetensorsHeaderRuleTests {
    struct Malformed: Sendable, CustomTestStringConvertible {
        let label: String
        let bytes: [UInt8]
        let rule: String
        var testDescription: String { "\(rule): \(label)" }

        init(_ label: String, _ bytes: [UInt8], _ rule: String) {
            self.label = label
            self.bytes = bytes
            self.rule = rule
        }

        init(_ label: String, header: String, data: [UInt8] = [], _ rule: String) {
            self.init(label, safetensorsBytes(header, data: data), rule)
        }
    }

    static let cases: [Malformed] = [
        .init("empty file", [], "headerTooSmall"),
        .init("7 bytes", [1, 0, 0, 0, 0, 0, 0], "headerTooSmall"),
        .init("N just above the cap", safetensorsBytes("{}", length: 100_000_001), "headerTooLarge"),
        .init("N = u64 max", safetensorsBytes("{}", length: .max), "headerTooLarge"),
        .init("N past end of file", safetensorsBytes("{}", length: 3), "invalidHeaderLength"),
        .init("N at the cap but file short", safetensorsBytes("{}", length: 100_000_000), "invalidHeaderLength"),
        .init("invalid UTF-8", safetensorsBytes(headerBytes: [0x7B, 0xFF, 0x7D]), "invalidHeader"),
        .init("invalid UTF-8 after the JSON", safetensorsBytes(headerBytes: [0x7B, 0x7D, 0x20, 0xC3]), "invalidHeader"),
        .init("empty header", header: "", "invalidHeader"),
        .init("leading space", header: " {}", "invalidHeader"),
        .init("array header", header: "[]", "invalidHeader"),
        .init("truncated JSON", header: #"{"a":"#, "invalidHeaderJSON"),
        .init("trailing garbage", header: "{} x", "invalidHeaderJSON"),
        .init("NUL padding", header: "{}\u{0}\u{0}", "invalidHeaderJSON"),
        .init("leading zero", header: #"{"a":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}"#, data: [0], "invalidHeaderJSON"),
        .init("duplicate tensor", header: #"{"a":\#(info("U8", [1], 0, 1)),"a":\#(info("U8", [1], 1, 2))}"#, data: [0, 0], "duplicateKey"),
        .init("duplicate member", header: #"{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [0], "duplicateKey"),
        .init("duplicate metadata key", header: #"{"__metadata__":{"k":"1","k":"2"}}"#, "duplicateKey"),
        .init("metadata not an object", header: #"{"__metadata__":"pt"}"#, "invalidMetadata"),
        .init("metadata number value", header: #"{"__metadata__":{"format":1}}"#, "invalidMetadata"),
        .init("metadata nested", header: #"{"__metadata__":{"format":{"a":"b"}}}"#, "invalidMetadata"),
        .init("info not an object", header: #"{"a":[1]}"#, "invalidTensorInfo"),
        .init("missing dtype", header: #"{"a":{"shape":[1],"data_offsets":[0,1]}}"#, data: [0], "invalidTensorInfo"),
        .init("missing shape", header: #"{"a":{"dtype":"U8","data_offsets":[0,1]}}"#, data: [0], "invalidTensorInfo"),
        .init("missing data_offsets", header: #"{"a":{"dtype":"U8","shape":[1]}}"#, data: [0], "invalidTensorInfo"),
        .init("extra member", header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":0}}"#, data: [0], "invalidTensorInfo"),
        .init("dtype not a string", header: #"{"a":{"dtype":1,"shape":[1],"data_offsets":[0,1]}}"#, data: [0], "invalidTensorInfo"),
        .init("shape not an array", header: #"{"a":{"dtype":"U8","shape":1,"data_offsets":[0,1]}}"#, data: [0], "invalidTensorInfo"),
        .init("negative dimension", header: #"{"a":\#(info("U8", [-1], 0, 0))}"#, "invalidTensorInfo"),
        .init("fractional dimension", header: #"{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}"#, data: [0], "invalidTensorInfo"),
        .init("dimension beyond Int64", header: #"{"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}}"#, data: [0], "invalidTensorInfo"),
        .init("one offset", header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1]}}"#, data: [0], "invalidTensorInfo"),
        .init("three offsets", header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,1]}}"#, data: [0], "invalidTensorInfo"),
        .init("negative offset", header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}"#, data: [0], "invalidTensorInfo"),
        .init("string offset", header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":["0",1]}}"#, data: [0], "invalidTensorInfo"),
        .init("F4", header: #"{"a":\#(info("F4", [2], 0, 1))}"#, data: [0], "unknownDType"),
        .init("F6_E2M3", header: #"{"a":\#(info("F6_E2M3", [4], 0, 3))}"#, data: [0, 0, 0], "unknownDType"),
        .init("C64", header: #"{"a":\#(info("C64", [1], 0, 8))}"#, data: [UInt8](repeating: 0, count: 8), "unknownDType"),
        .init("F8_E8M0", header: #"{"a":\#(info("F8_E8M0", [1], 0, 1))}"#, data: [0], "unknownDType"),
        .init("lowercase", header: #"{"a":\#(info("f32", [1], 0, 4))}"#, data: [0, 0, 0, 0], "unknownDType"),
        .init("element count overflows", header: #"{"a":\#(info("U8", [4294967296, 4294967296], 0, 0))}"#, "validationOverflow"),
        .init("byte size overflows", header: #"{"a":\#(info("F64", [2305843009213693952], 0, 0))}"#, "validationOverflow"),
        .init("size too small", header: #"{"a":\#(info("F32", [2], 0, 4))}"#, data: [0, 0, 0, 0], "tensorSizeMismatch"),
        .init("size too large", header: #"{"a":\#(info("F32", [1], 0, 8))}"#, data: [UInt8](repeating: 0, count: 8), "tensorSizeMismatch"),
        .init("end before begin", header: #"{"a":\#(info("U8", [1], 1, 0))}"#, data: [0], "invalidOffset"),
        .init("first not at 0", header: #"{"a":\#(info("U8", [1], 1, 2))}"#, data: [0, 0], "invalidOffset"),
        .init("gap", header: #"{"a":\#(info("U8", [1], 0, 1)),"b":\#(info("U8", [1], 2, 3))}"#, data: [0, 0, 0], "invalidOffset"),
        .init("overlap", header: #"{"a":\#(info("U8", [2], 0, 2)),"b":\#(info("U8", [2], 1, 3))}"#, data: [0, 0, 0], "invalidOffset"),
        .init("aliasing", header: #"{"a":\#(info("U8", [2], 0, 2)),"b":\#(info("U8", [2], 0, 2))}"#, data: [0, 0], "invalidOffset"),
        .init("trailing byte", header: #"{"a":\#(info("U8", [1], 0, 1))}"#, data: [0, 0], "metadataIncompleteBuffer"),
        .init("missing bytes", header: #"{"a":\#(info("U8", [4], 0, 4))}"#, data: [0], "metadataIncompleteBuffer"),
        .init("no tensors, trailing byte", header: "{}", data: [0], "metadataIncompleteBuffer"),
    ]

    @Test(arguments: cases)
    func malformedHeaderIsRefusedWithRule(_ c: Malformed) {
        do {
            let header = try parseHeader(c.bytes)
            Issue.record("accepted \(header.entries.map(\.name))")
        } catch {
            #expect(error.rule == c.rule, "\(error)")
        }
    }

    @Test func detailsNameTensorAndOffset() {
        let gap = safetensorsBytes(#"{"a":\#(info("U8", [1], 0, 1)),"b":\#(info("U8", [1], 2, 3))}"#, data: [0, 0, 0])
        #expect(throws: SafetensorsError.invalidOffset(tensor: "b", begin: 2, end: 3, expectedBegin: 1)) { try parseHeader(gap) }

        let dup = safetensorsBytes(#"{"w":\#(info("U8", [0], 0, 0)),"w":\#(info("U8", [0], 0, 0))}"#)
        let secondKey = 8 + #"{"w":\#(info("U8", [0], 0, 0)),"#.utf8.count
        #expect(throws: SafetensorsError.duplicateKey(key: "w", fileOffset: secondKey)) { try parseHeader(dup) }

        let dtype = safetensorsBytes(#"{"x.y":\#(info("F4", [2], 0, 1))}"#, data: [0])
        #expect(throws: SafetensorsError.unknownDType(tensor: "x.y", dtype: "F4")) { try parseHeader(dtype) }

        let bad = safetensorsBytes(headerBytes: [0x7B, 0x22, 0xC0, 0xAF])
        #expect(throws: SafetensorsError.invalidHeader(fileOffset: 10, reason: "not valid UTF-8")) { try parseHeader(bad) }

        let json = safetensorsBytes("{} x")
        #expect(throws: SafetensorsError.invalidHeaderJSON(fileOffset: 11, error: .trailingCharacters(offset: 3))) { try parseHeader(json) }

        let short = safetensorsBytes(#"{"a":\#(info("U8", [4], 0, 4))}"#, data: [0])
        let headerLength = #"{"a":\#(info("U8", [4], 0, 4))}"#.utf8.count
        #expect(throws: SafetensorsError.metadataIncompleteBuffer(dataEnd: 8 + headerLength + 4, fileSize: 8 + headerLength + 1)) {
            try parseHeader(short)
        }
    }
}

@Suite struct SafetensorsHeaderAcceptTests {
    @Test func emptyFileWithPaddedHeader() throws {
        let header = try parseHeader(safetensorsBytes("{}      "))
        #expect(header.entries.isEmpty)
        #expect(header.metadata.isEmpty)
        #expect(header.dataStart == 16)
    }

    @Test func entriesInOffsetOrderWithLocations() throws {
        let text =
            #"{"__metadata__":{"format":"pt","note":"é"},"b":\#(info("F32", [2, 3], 24, 48)),"a":\#(info("F64", [3], 0, 24)),"e":\#(info("BF16", [0, 5], 24, 24)),"s":\#(info("I64", [], 48, 56))}  "#
        let bytes = safetensorsBytes(text, data: [UInt8](repeating: 7, count: 56))
        let header = try parseHeader(bytes)
        let dataStart = 8 + text.utf8.count
        #expect(header.dataStart == dataStart)
        #expect(header.metadata == ["format": "pt", "note": "é"])
        #expect(header.entries.map(\.name) == ["a", "e", "b", "s"])
        let b = try #require(header.entries.first { $0.name == "b" })
        #expect(b.dtype == .f32)
        #expect(b.shape == [2, 3])
        #expect(b.strides == [3, 1])
        #expect(b.storageOffset == 0)
        #expect(b.storage == StorageLocation(file: "mem.safetensors", key: "b", fileOffset: dataStart + 24, byteCount: 24))
        let e = try #require(header.entries.first { $0.name == "e" })
        #expect(e.elementCount == 0)
        #expect(e.storage.byteCount == 0)
        let s = try #require(header.entries.first { $0.name == "s" })
        #expect(s.shape == [])
        #expect(s.strides == [])
        #expect(s.storage.byteCount == 8)
    }

    @Test(arguments: DType.allCases)
    func everyKnownDTypeIsAccepted(_ dtype: DType) throws {
        let n = 3 * dtype.byteSize
        let header = try parseHeader(safetensorsBytes(#"{"t":\#(info(dtype.rawValue, [3], 0, n))}"#, data: [UInt8](repeating: 0, count: n)))
        #expect(header.entries.first?.dtype == dtype)
    }

    @Test func zeroSizeTensorsMaySitBetweenOthers() throws {
        let text = #"{"a":\#(info("U8", [1], 0, 1)),"z":\#(info("U8", [0], 1, 1)),"y":\#(info("U8", [0], 1, 1)),"b":\#(info("U8", [1], 1, 2))}"#
        let header = try parseHeader(safetensorsBytes(text, data: [1, 2]))
        #expect(header.entries.map(\.name) == ["a", "y", "z", "b"])
    }
}
