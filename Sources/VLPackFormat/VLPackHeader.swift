import VLCore

/// Where a tensor came from: the source file (by name, as listed in `provenance.sources`), the
/// tensor's name in that file, and its dtype there (before any conversion or quantization).
public struct TensorOrigin: Sendable, Hashable {
    public let file: String
    public let name: String
    public let dtype: String

    public init(file: String, name: String, dtype: String) {
        self.file = file
        self.name = name
        self.dtype = dtype
    }

    var json: JSONValue { ["file": .string(file), "name": .string(name), "dtype": .string(dtype)] }
}

/// One row of the tensor table, validated (Formats/VLPACK.md §4).
///
/// Invariants after `VLPackFile` opened it: `nbytes == storage.byteCount(shape:)`, `offset` is a
/// multiple of the file's alignment, `offset + nbytes <= dataLength`, and rows are sorted by offset
/// without overlap.
public struct VLPackTensor: Sendable, Equatable {
    /// Canonical name, unique in the file.
    public let name: String
    public let storage: StorageType
    /// Logical element shape (for block formats too).
    public let shape: [Int]
    /// Offset of the first byte, relative to the data section.
    public let offset: Int
    public let nbytes: Int
    /// CRC-32 (zlib) of exactly the `nbytes` bytes.
    public let crc32: UInt32
    public let source: TensorOrigin?
    /// Quantization parameters, when the tensor was quantized (schema owned by the quantizer).
    public let quant: JSONValue?

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(name)), ("dtype", .string(storage.name)),
            ("shape", .array(shape.map { JSONValue($0) })), ("offset", JSONValue(offset)),
            ("nbytes", JSONValue(nbytes)), ("crc32", .string(crcHex(crc32))),
        ]
        if let source { members.append(("source", source.json)) }
        if let quant { members.append(("quant", quant)) }
        return .object(members)
    }
}

/// The parts of the header that the caller owns; the format layer stores them verbatim. Each must
/// be a JSON object (empty by default). See Formats/VLPACK.md §3 for the members VLPack's converter
/// puts in them.
public struct VLPackHeaderParts: Sendable, Equatable {
    /// `{"name": "vlpack", "version": "…", …}`: the program that wrote the file.
    public var converter: JSONValue
    /// `{component: {"family": …, "config": {…}}}` for each component present.
    public var components: JSONValue
    /// `{"model_tensor": "tokenizer.model", "added_tokens": […], …}`; `model_tensor`, when present,
    /// must name a U8 tensor of the file (checked by writer and reader).
    public var tokenizer: JSONValue
    /// `{"sources": [{"name", "size", "sha256"}], …}`.
    public var provenance: JSONValue
    /// Anything else.
    public var metadata: JSONValue

    static let keys = ["converter", "components", "tokenizer", "provenance", "metadata"]

    public init(
        converter: JSONValue = [:], components: JSONValue = [:], tokenizer: JSONValue = [:],
        provenance: JSONValue = [:], metadata: JSONValue = [:]
    ) {
        self.converter = converter
        self.components = components
        self.tokenizer = tokenizer
        self.provenance = provenance
        self.metadata = metadata
    }

    var values: [JSONValue] { [converter, components, tokenizer, provenance, metadata] }
}

/// Encoding and validation of the JSON header.
enum VLPackHeader {
    /// The header JSON, compact, members in the order of §3. O(size).
    static func encode(parts: VLPackHeaderParts, tensors: [VLPackTensor]) -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = [("format", "vlpack"), ("version", JSONValue(Int(VLPackPreamble.version)))]
        for (k, v) in zip(VLPackHeaderParts.keys, parts.values) { members.append((k, v)) }
        members.append(("tensors", .array(tensors.map(\.json))))
        return Array(JSONValue.object(members).serialized().utf8)
    }

    /// Validates a parsed header against the preamble and returns its parts and table. One pass over
    /// the table: O(tensors × rank) plus a hash set of names.
    static func decode(_ root: JSONValue, alignment: Int, dataLength: Int) throws(VLPackError) -> (VLPackHeaderParts, [VLPackTensor]) {
        guard root.objectEntries != nil else { throw .invalidHeader(field: "(root)", reason: "not a JSON object") }
        guard root[key: "format"]?.string == "vlpack" else { throw .invalidHeader(field: "format", reason: "must be \"vlpack\"") }
        guard root[key: "version"]?.int == Int(VLPackPreamble.version) else {
            throw .invalidHeader(field: "version", reason: "must be 1, as in the preamble")
        }
        var partValues: [JSONValue] = []
        for key in VLPackHeaderParts.keys {
            let v = root[key: key] ?? [:]
            guard v.objectEntries != nil else { throw .invalidHeader(field: key, reason: "must be an object") }
            partValues.append(v)
        }
        let parts = VLPackHeaderParts(
            converter: partValues[0], components: partValues[1], tokenizer: partValues[2],
            provenance: partValues[3], metadata: partValues[4])
        guard let rows = root[key: "tensors"]?.array else { throw .invalidHeader(field: "tensors", reason: "must be an array") }

        var tensors: [VLPackTensor] = []
        tensors.reserveCapacity(rows.count)
        var names = Set<String>(minimumCapacity: rows.count)
        var previous: (name: String, end: Int)?
        for (i, row) in rows.enumerated() {
            let t = try decodeRow(row, index: i, alignment: alignment, dataLength: dataLength)
            guard names.insert(t.name).inserted else { throw .duplicateTensor(name: t.name) }
            if let previous, t.offset < previous.end {
                throw .overlappingTensors(tensor: t.name, offset: t.offset, previous: previous.name, previousEnd: previous.end)
            }
            previous = (t.name, t.offset + t.nbytes)
            tensors.append(t)
        }
        if let bad = badModelTensorReference(parts.tokenizer, tensors: tensors) {
            throw .badTensorReference(field: "tokenizer.model_tensor", tensor: bad)
        }
        return (parts, tensors)
    }

    /// `tokenizer.model_tensor`, when present, must be a string naming a `U8` tensor of the table;
    /// returns the offending value (JSON text when it is not a string), `nil` when it is fine.
    static func badModelTensorReference(_ tokenizer: JSONValue, tensors: [VLPackTensor]) -> String? {
        guard let ref = tokenizer[key: "model_tensor"] else { return nil }
        guard let name = ref.string else { return ref.serialized() }
        return tensors.contains { $0.name == name && $0.storage == .plain(.u8) } ? nil : name
    }

    private static func decodeRow(_ row: JSONValue, index i: Int, alignment: Int, dataLength: Int) throws(VLPackError) -> VLPackTensor {
        let at = "tensors[\(i)]"
        guard row.objectEntries != nil else { throw .invalidHeader(field: at, reason: "must be an object") }
        guard let name = row[key: "name"]?.string, !name.isEmpty else {
            throw .invalidHeader(field: "\(at).name", reason: "must be a non-empty string")
        }
        guard let dtypeName = row[key: "dtype"]?.string else { throw .invalidHeader(field: "\(at).dtype", reason: "must be a string") }
        guard let storage = StorageType(name: dtypeName) else { throw .unknownDType(tensor: name, dtype: dtypeName) }
        guard let dims = row[key: "shape"]?.array else { throw .invalidHeader(field: "\(at).shape", reason: "must be an array of integers") }
        var shape: [Int] = []
        for d in dims {
            guard let v = d.int else { throw .invalidHeader(field: "\(at).shape", reason: "must be an array of integers") }
            shape.append(v)
        }
        guard let expected = storage.byteCount(shape: shape) else { throw .invalidShape(tensor: name, shape: shape, dtype: dtypeName) }
        guard let offset = row[key: "offset"]?.int, offset >= 0 else {
            throw .invalidHeader(field: "\(at).offset", reason: "must be a non-negative integer")
        }
        guard let nbytes = row[key: "nbytes"]?.int, nbytes >= 0 else {
            throw .invalidHeader(field: "\(at).nbytes", reason: "must be a non-negative integer")
        }
        guard nbytes == expected else { throw .sizeMismatch(tensor: name, nbytes: nbytes, expected: expected) }
        guard offset % alignment == 0 else { throw .misalignedTensor(tensor: name, offset: offset, alignment: alignment) }
        guard let end = Checked.add(offset, nbytes), end <= dataLength else {
            throw .tensorOutOfBounds(tensor: name, offset: offset, nbytes: nbytes, dataLength: dataLength)
        }
        guard let crcText = row[key: "crc32"]?.string, let crc = parseCRC(crcText) else {
            throw .invalidHeader(field: "\(at).crc32", reason: "must be 8 lowercase hex digits")
        }
        var source: TensorOrigin?
        if let s = row[key: "source"] {
            guard let file = s[key: "file"]?.string, let sname = s[key: "name"]?.string, let sdtype = s[key: "dtype"]?.string else {
                throw .invalidHeader(field: "\(at).source", reason: "must be an object with string members file, name, dtype")
            }
            source = TensorOrigin(file: file, name: sname, dtype: sdtype)
        }
        let quant = row[key: "quant"]
        if let quant, quant.objectEntries == nil { throw .invalidHeader(field: "\(at).quant", reason: "must be an object") }
        return VLPackTensor(
            name: name, storage: storage, shape: shape, offset: offset, nbytes: nbytes, crc32: crc,
            source: source, quant: quant)
    }

    /// Exactly 8 lowercase hex digits; the fixed width is what lets the writer reserve the header
    /// before the checksums are known.
    static func parseCRC(_ s: String) -> UInt32? {
        let u = Array(s.utf8)
        guard u.count == 8, u.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return UInt32(s, radix: 16)
    }
}
