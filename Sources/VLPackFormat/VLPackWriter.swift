import VLCore

/// One tensor the writer is told about before any data is written.
public struct VLPackTensorPlan: Sendable, Equatable {
    public let name: String
    public let storage: StorageType
    /// Logical element shape.
    public let shape: [Int]
    public let source: TensorOrigin?
    public let quant: JSONValue?

    public init(name: String, storage: StorageType, shape: [Int], source: TensorOrigin? = nil, quant: JSONValue? = nil) {
        self.name = name
        self.storage = storage
        self.shape = shape
        self.source = source
        self.quant = quant
    }

    public init(name: String, dtype: DType, shape: [Int], source: TensorOrigin? = nil) {
        self.init(name: name, storage: .plain(dtype), shape: shape, source: source)
    }
}

/// What `VLPackWriter.finish()` wrote.
public struct VLPackWriteSummary: Sendable, Equatable {
    public let path: String
    public let fileSize: Int
    public let dataOffset: Int
    /// The final table, checksums included.
    public let tensors: [VLPackTensor]
}

/// Streams a `.vlpack` file to disk (Formats/VLPACK.md).
///
/// Use: declare the whole plan in `init` (names, storage types, shapes: every size and offset is
/// known up front), then supply each tensor's bytes with `write(tensor:_:)` in plan order, then
/// `finish()`.
///
/// - Memory: the header, plus a 1 MiB write buffer. Tensor bytes pass through in the caller's
///   chunks; the CRC-32 is computed on the fly, so no tensor is held or re-read.
/// - Layout: the data section is written first, starting at the offset the header will end at
///   (known because every header field has a fixed width once sizes are known: CRCs are written as
///   exactly 8 hex digits). Each tensor starts at the next multiple of `alignment`, gaps are zero.
///   `finish()` then writes the preamble and header at offset 0.
/// - Atomicity (`AtomicFile`): everything goes to an unnamed temporary file (named hidden fallback
///   where `O_TMPFILE` is unsupported) that `finish()` fsyncs, links and renames over `path`. Any
///   error — including one thrown by a producer — or dropping the writer without `finish()` discards
///   it; `path` is never left half-written, even by SIGKILL.
/// - Page cache: with `cacheDropInterval` set (default 256 MiB) the written range is synced and
///   dropped from the page cache at that interval, so converting a 14 GB model does not evict the
///   inputs being read (or everything else on the machine).
///
/// Not thread-safe; after any error the writer is closed.
public final class VLPackWriter {
    /// Supplies one tensor's bytes by calling `write` with consecutive chunks (any sizes) whose
    /// total is exactly the tensor's byte count.
    public typealias Producer = (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

    public let path: String
    public let alignment: VLPackAlignment
    public let dataOffset: Int

    private var parts: VLPackHeaderParts
    private let headerLength: Int
    /// The table with zero CRCs until each tensor is written.
    private var rows: [VLPackTensor]
    private var next = 0
    private var file: AtomicFile?

    /// Validates the plan and creates the temporary file. Throws when a name is empty or repeated, a
    /// shape does not fit its storage type, a header part is not an object, `tokenizer.model_tensor`
    /// names no planned U8 tensor, `path` is one of `inputs` (`overwritesInput`), or the temporary
    /// file cannot be created. O(plan).
    ///
    /// `headerSlack` reserves that many extra header bytes for values only known once the data is
    /// written (`setQuant`); whatever is left unused becomes JSON whitespace before the header's
    /// closing brace (insignificant whitespace, Formats/VLPACK.md §3).
    public init(
        path: String, plan: [VLPackTensorPlan], parts: VLPackHeaderParts = VLPackHeaderParts(),
        alignment: VLPackAlignment = .cacheLine, inputs: [String] = [],
        cacheDropInterval: Int? = 256 << 20, headerSlack: Int = 0
    ) throws(VLPackWriteError) {
        self.path = path
        self.alignment = alignment
        self.parts = parts
        for (key, value) in zip(VLPackHeaderParts.keys, parts.values) where value.objectEntries == nil {
            throw .invalidHeaderPart(key: key)
        }
        var names = Set<String>()
        var rows: [VLPackTensor] = []
        var end = 0
        for p in plan {
            guard !p.name.isEmpty else { throw .invalidName(name: p.name) }
            guard names.insert(p.name).inserted else { throw .duplicateTensor(name: p.name) }
            guard let nbytes = p.storage.byteCount(shape: p.shape),
                let offset = alignUp(end, alignment.rawValue), let e = Checked.add(offset, nbytes)
            else { throw .invalidShape(tensor: p.name, shape: p.shape, dtype: p.storage.name) }
            if let q = p.quant, q.objectEntries == nil { throw .invalidHeaderPart(key: "tensors[\(rows.count)].quant") }
            rows.append(
                VLPackTensor(
                    name: p.name, storage: p.storage, shape: p.shape, offset: offset, nbytes: nbytes,
                    crc32: 0, source: p.source, quant: p.quant))
            end = e
        }
        if let bad = VLPackHeader.badModelTensorReference(parts.tokenizer, tensors: rows) {
            throw .badTensorReference(field: "tokenizer.model_tensor", tensor: bad)
        }
        self.rows = rows
        headerLength = VLPackHeader.encode(parts: parts, tensors: rows).count + max(0, headerSlack)
        guard headerLength <= VLPackPreamble.maxHeaderLength else {
            throw .headerTooLarge(length: headerLength, limit: VLPackPreamble.maxHeaderLength)
        }
        dataOffset = VLPackPreamble.dataOffset(headerLength: headerLength, alignment: alignment.rawValue)!
        do {
            let file = try AtomicFile(path: path, refusingToReplace: inputs)
            file.cacheDropInterval = cacheDropInterval
            try file.seek(to: dataOffset)
            self.file = file
        } catch {
            throw VLPackWriteError(error)
        }
    }

    /// Name of the tensor `write` expects next; `nil` once all are written.
    public var nextTensor: String? { next < rows.count ? rows[next].name : nil }

    /// Writes the next tensor of the plan, which must be `name`. Throws `VLPackWriteError`
    /// (`outOfOrder`, `byteCountMismatch`, `io`, `closed`) or whatever `producer` throws; after any
    /// error the temporary file is gone and the writer is closed.
    public func write(tensor name: String, _ producer: Producer) throws {
        guard let file else { throw VLPackWriteError.closed(path: path) }
        do {
            guard next < rows.count, rows[next].name == name else { throw VLPackWriteError.outOfOrder(expected: nextTensor, got: name) }
            let row = rows[next]
            try file.writeZeros(dataOffset + row.offset - file.offset)
            var crc = CRC32()
            var written = 0
            try producer { chunk in
                written += chunk.count
                guard written <= row.nbytes else {
                    throw VLPackWriteError.byteCountMismatch(tensor: name, expected: row.nbytes, written: written)
                }
                crc.update(chunk)
                do throws(AtomicFileError) { try file.write(chunk) } catch { throw VLPackWriteError(error) }
            }
            guard written == row.nbytes else { throw VLPackWriteError.byteCountMismatch(tensor: name, expected: row.nbytes, written: written) }
            rows[next] = VLPackTensor(
                name: row.name, storage: row.storage, shape: row.shape, offset: row.offset, nbytes: row.nbytes,
                crc32: crc.value, source: row.source, quant: row.quant)
            next += 1
        } catch {
            cancel()
            throw error
        }
    }

    /// Writes the next tensor from bytes in memory.
    public func write(tensor name: String, contents: UnsafeRawBufferPointer) throws(VLPackWriteError) {
        do {
            try write(tensor: name) { write in try write(contents) }
        } catch let e as VLPackWriteError {
            throw e
        } catch {
            fatalError("unreachable: the producer only rethrows the writer's own errors")
        }
    }

    public func write(tensor name: String, contents: [UInt8]) throws(VLPackWriteError) {
        try contents.withUnsafeBytes { b in Result { () throws(VLPackWriteError) in try write(tensor: name, contents: b) } }.get()
    }

    /// Replaces the `quant` member of planned tensor `name` (written or not), e.g. with error figures
    /// measured while its bytes passed. The final header must still fit the reserved length
    /// (`headerSlack`), which `finish` checks. O(plan).
    public func setQuant(_ quant: JSONValue, forTensor name: String) throws(VLPackWriteError) {
        guard file != nil else { throw .closed(path: path) }
        guard quant.objectEntries != nil else { throw .invalidHeaderPart(key: "tensors[\(name)].quant") }
        guard let i = rows.firstIndex(where: { $0.name == name }) else { throw .outOfOrder(expected: nextTensor, got: name) }
        let r = rows[i]
        rows[i] = VLPackTensor(
            name: r.name, storage: r.storage, shape: r.shape, offset: r.offset, nbytes: r.nbytes,
            crc32: r.crc32, source: r.source, quant: quant)
    }

    /// Writes the header and preamble, fsyncs and renames the file into place. Throws `incomplete`
    /// when a planned tensor was not written. O(header).
    ///
    /// `provenance`, when given, replaces the provenance part declared at `init` — for values that
    /// are only known once the data is written (source-file SHA-256s computed alongside). The header
    /// must not grow beyond the reserved length (fixed-width fields such as 64-hex digests, plus
    /// `headerSlack`), or `headerLengthChanged`; a shorter one is padded with JSON whitespace.
    @discardableResult
    public func finish(provenance: JSONValue? = nil) throws(VLPackWriteError) -> VLPackWriteSummary {
        guard let file else { throw .closed(path: path) }
        do throws(VLPackWriteError) {
            if let missing = nextTensor { throw .incomplete(missing: missing) }
            if let provenance { parts.provenance = provenance }
            var json = VLPackHeader.encode(parts: parts, tensors: rows)
            guard json.count <= headerLength else { throw .headerLengthChanged(reserved: headerLength, actual: json.count) }
            // Unused reserved bytes become whitespace inside the JSON text, before its closing brace.
            json.insert(contentsOf: repeatElement(0x20, count: headerLength - json.count), at: json.count - 1)
            let dataLength = rows.last.map { $0.offset + $0.nbytes } ?? 0
            let preamble = VLPackPreamble(
                headerLength: headerLength, headerCRC32: json.withUnsafeBytes { CRC32.checksum($0) },
                alignment: alignment.rawValue, dataOffset: dataOffset, dataLength: dataLength)
            let padding = [UInt8](repeating: 0x20, count: dataOffset - VLPackPreamble.size - headerLength)
            do {
                // An empty or all-empty-tensor plan wrote nothing after the hole: extend to the end.
                if file.offset < dataOffset + dataLength { try file.writeZeros(dataOffset + dataLength - file.offset) }
                try file.write(preamble.encoded() + json + padding, at: 0)
                try file.commit()
            } catch {
                throw VLPackWriteError(error)
            }
            self.file = nil
            return VLPackWriteSummary(path: path, fileSize: dataOffset + dataLength, dataOffset: dataOffset, tensors: rows)
        } catch {
            cancel()
            throw error
        }
    }

    /// Removes the temporary file and closes the writer. Idempotent.
    public func cancel() {
        file?.abandon()
        file = nil
    }

    deinit { cancel() }
}
