import CZip
import VLCore

/// A zip file mapped into memory with its validated directory. Stored entries are served as
/// zero-copy views at their (torch: 64-byte aligned) offsets; deflated entries, which only appear
/// when a checkpoint was re-zipped by another tool, are inflated by libzip into a private buffer.
public final class ZipArchive: Sendable {
    public let file: MappedFile
    public let directory: ZipDirectory

    public init(file: MappedFile) throws(TorchError) {
        self.file = file
        self.directory = try ZipDirectory(file.bytes)
    }

    /// The entry's uncompressed bytes. Zero-copy for stored entries; for deflated entries allocates
    /// exactly `uncompressedSize` bytes (bounded by deflate's maximum ratio of the compressed size).
    public func payload(of entry: ZipEntry) throws(TorchError) -> TensorBytes {
        if entry.isStored {
            // Bounds were checked when the directory was read.
            let view = file.range(offset: entry.dataOffset, length: entry.compressedSize)!
            return TensorBytes(view: view, owner: file)
        }
        return try inflate(entry)
    }

    /// Compares the payload's CRC-32 with the central directory. A recorded CRC of 0 means the
    /// writer did not compute one (`torch.serialization.set_crc32_options(False)`), so it passes.
    public func verifyCRC(of entry: ZipEntry) throws(TorchError) {
        guard entry.crc32 != 0 else { return }
        let data = try payload(of: entry)
        let crc = data.withUnsafeBytes { buf -> UInt32 in
            var crc = crc32(0, nil, 0)
            var offset = 0
            // zlib takes a 32-bit length; feed large payloads in chunks.
            while offset < buf.count {
                let n = min(1 << 30, buf.count - offset)
                crc = crc32(crc, buf.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
                offset += n
            }
            return UInt32(crc)
        }
        guard crc == entry.crc32 else { throw .crcMismatch(name: entry.name, expected: entry.crc32, found: crc) }
    }

    /// Deflate's worst-case expansion is about 1032:1; a larger claim is a lie meant to make us
    /// allocate memory the file cannot fill.
    private static let maxInflateRatio = 1032

    private func inflate(_ entry: ZipEntry) throws(TorchError) -> TensorBytes {
        let limit = Checked.multiply(max(entry.compressedSize, 1), Self.maxInflateRatio) ?? Int.max
        guard entry.uncompressedSize <= limit else {
            throw .inflateFailed(name: entry.name, reason: "claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed")
        }
        let out = OwnedBuffer(count: entry.uncompressedSize)
        var error = zip_error_t()
        zip_error_init(&error)
        defer { zip_error_fini(&error) }
        let bytes = file.bytes
        guard let source = zip_source_buffer_create(bytes.baseAddress, zip_uint64_t(bytes.count), 0, &error) else {
            throw .inflateFailed(name: entry.name, reason: String(cString: zip_error_strerror(&error)))
        }
        guard let archive = zip_open_from_source(source, ZIP_RDONLY, &error) else {
            zip_source_free(source)
            throw .inflateFailed(name: entry.name, reason: String(cString: zip_error_strerror(&error)))
        }
        defer { zip_discard(archive) }
        let index = zip_name_locate(archive, entry.name, 0)
        guard index >= 0, let handle = zip_fopen_index(archive, zip_uint64_t(index), 0) else {
            throw .inflateFailed(name: entry.name, reason: String(cString: zip_strerror(archive)))
        }
        defer { zip_fclose(handle) }
        var filled = 0
        while filled < out.bytes.count {
            let n = zip_fread(handle, out.bytes.baseAddress! + filled, zip_uint64_t(out.bytes.count - filled))
            if n < 0 { throw .inflateFailed(name: entry.name, reason: String(cString: zip_file_strerror(handle))) }
            if n == 0 { break }
            filled += Int(n)
        }
        guard filled == out.bytes.count else {
            throw .storageSizeMismatch(storage: entry.name, expected: entry.uncompressedSize, found: filled)
        }
        return TensorBytes(owned: out)
    }
}
