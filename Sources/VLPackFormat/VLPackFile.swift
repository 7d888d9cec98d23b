import VLCore

/// A `.vlpack` file opened for reading (Formats/VLPACK.md).
///
/// Opening maps the file and validates everything except tensor bytes: the preamble and its CRC,
/// the header padding, the header CRC, the JSON (strict, duplicate keys refused), and every table
/// row (known dtype, shape products without overflow, `nbytes` matching dtype and shape, aligned,
/// inside the data section, sorted, non-overlapping, unique names). Cost: O(header); no tensor page
/// is touched, so opening a 14 GB file takes as long as opening a 14 KB one with the same table.
///
/// Tensor access is a zero-copy view into the mapping. Tensor checksums are checked only by
/// `verifyIntegrity()`, which reads all data once.
public final class VLPackFile: TensorSource {
    public let path: String
    public let preamble: VLPackPreamble
    /// The caller-owned header parts (converter, components, tokenizer, provenance, metadata).
    public let parts: VLPackHeaderParts
    /// The table, in data order.
    public let tensors: [VLPackTensor]
    /// `tensors` as `TensorEntry`s. Block-quantized tensors appear as 1-D `U8` tensors of their
    /// `nbytes` raw block bytes (a `DType` cannot describe blocks); see `tensors` for the logical view.
    public let entries: [TensorEntry]
    public var skipped: [SkippedObject] { [] }
    public var globals: [String] { [] }

    private let mapping: MappedFile
    private let index: [String: Int]

    /// Opens and validates `path`. Throws `FileError` when it cannot be mapped, `VLPackError`
    /// naming the first rule that fails otherwise. O(header).
    public convenience init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Validates an already mapped file. O(header).
    public init(mapping: MappedFile) throws(VLPackError) {
        let bytes = mapping.bytes
        let preamble = try VLPackPreamble.decode(bytes, fileSize: mapping.count)
        let jsonEnd = VLPackPreamble.size + preamble.headerLength
        // Padding before the check of the CRC: it is outside the CRC, and at most alignment-1 bytes.
        if let i = (jsonEnd..<preamble.dataOffset).first(where: { bytes[$0] != 0x20 }) { throw .badHeaderPadding(offset: i) }
        let json = UnsafeRawBufferPointer(rebasing: bytes[VLPackPreamble.size..<jsonEnd])
        let crc = CRC32.checksum(json)
        guard crc == preamble.headerCRC32 else { throw .headerChecksumMismatch(stored: preamble.headerCRC32, computed: crc) }
        let root: JSONValue
        do { root = try JSONValue.parse(json) } catch { throw .invalidHeaderJSON(error) }
        let (parts, tensors) = try VLPackHeader.decode(root, alignment: preamble.alignment, dataLength: preamble.dataLength)

        self.path = mapping.path
        self.mapping = mapping
        self.preamble = preamble
        self.parts = parts
        self.tensors = tensors
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
        entries = tensors.map { t in
            let (dtype, shape): (DType, [Int]) =
                switch t.storage {
                case let .plain(d): (d, t.shape)
                case .blocks: (.u8, [t.nbytes])
                }
            return TensorEntry(
                name: t.name, dtype: dtype, shape: shape, strides: TensorEntry.contiguousStrides(shape),
                storageOffset: 0,
                storage: StorageLocation(
                    file: mapping.path, key: t.name,
                    fileOffset: preamble.dataOffset + t.offset, byteCount: t.nbytes))
        }
    }

    /// The tensor named `name`; O(1).
    public func tensor(named name: String) -> VLPackTensor? {
        index[name].map { tensors[$0] }
    }

    /// The tensors under any of `prefixes` (a branch's or a component's weights), in table order.
    /// O(tensors · prefixes).
    public func tensors(under prefixes: [TensorPrefix]) -> [VLPackTensor] {
        tensors.filter { t in prefixes.contains { $0.contains(t.name) } }
    }

    /// Zero-copy view of the tensor's bytes; keeps the mapping alive. O(1). The bytes are not
    /// checksummed here (see `verifyIntegrity()`).
    public func bytes(of tensor: VLPackTensor) -> TensorBytes {
        // Bounds were validated at open; `range` re-checks them for free.
        let view = mapping.range(offset: preamble.dataOffset + tensor.offset, length: tensor.nbytes)!
        return TensorBytes(view: view, owner: mapping)
    }

    /// `TensorSource`: the bytes of the table row named by `entry.name` (zero-copy).
    public func bytes(of entry: TensorEntry) throws -> TensorBytes {
        guard let t = tensor(named: entry.name) else { throw VLPackError.unknownTensor(name: entry.name) }
        return bytes(of: t)
    }

    /// CRC-32 of the tensor's bytes as they are in the file. O(nbytes); pages are released from this
    /// process's resident set as they are passed, so checking a file larger than RAM stays cheap.
    public func computeCRC32(of tensor: VLPackTensor) -> UInt32 {
        let start = preamble.dataOffset + tensor.offset
        var crc = CRC32()
        var done = 0
        let chunk = 8 << 20
        while done < tensor.nbytes {
            let n = min(chunk, tensor.nbytes - done)
            crc.update(mapping.range(offset: start + done, length: n)!)
            mapping.release(offset: start + done, length: n)
            done += n
        }
        return crc.value
    }

    /// Reads the whole data section once and reports every tensor whose CRC-32 differs from the
    /// table (rule `tensorChecksumMismatch`, naming the tensor) and every run of padding between or
    /// after tensors that is not zero (`nonZeroPadding`). Together with what `init` checks, this
    /// covers every byte of the file. Empty result: the file is intact. O(file size), no copies.
    public func verifyIntegrity() -> [IntegrityProblem] {
        var problems: [IntegrityProblem] = []
        var cursor = 0
        for t in tensors {
            checkPadding(from: cursor, to: t.offset, into: &problems)
            let computed = computeCRC32(of: t)
            if computed != t.crc32 {
                problems.append(
                    IntegrityProblem(
                        tensor: t.name,
                        error: .tensorChecksumMismatch(
                            tensor: t.name, offset: preamble.dataOffset + t.offset, stored: t.crc32, computed: computed)))
            }
            cursor = max(cursor, t.offset + t.nbytes)
        }
        checkPadding(from: cursor, to: preamble.dataLength, into: &problems)
        return problems
    }

    /// Data-relative gap `[from, to)`: reported once, as the whole gap, if any byte is not zero.
    private func checkPadding(from: Int, to: Int, into problems: inout [IntegrityProblem]) {
        guard to > from, let gap = mapping.range(offset: preamble.dataOffset + from, length: to - from) else { return }
        if gap.contains(where: { $0 != 0 }) {
            problems.append(IntegrityProblem(tensor: nil, error: .nonZeroPadding(offset: preamble.dataOffset + from, length: to - from)))
        }
    }
}
