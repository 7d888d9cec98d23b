/// Bytes of one tensor, C-contiguous and little-endian. Either a zero-copy view into a mapping
/// (the mapping is retained by `owner`) or a buffer this value owns.
public struct TensorBytes: @unchecked Sendable {
    /// Valid as long as this value (and so `owner`) is alive. Do not let it escape.
    public let buffer: UnsafeRawBufferPointer
    let owner: AnyObject?

    /// A view into memory kept alive by `owner` (e.g. a `MappedFile`).
    public init(view: UnsafeRawBufferPointer, owner: AnyObject) {
        self.buffer = view
        self.owner = owner
    }

    /// Takes ownership of a freshly allocated buffer.
    public init(owned: OwnedBuffer) {
        self.buffer = UnsafeRawBufferPointer(owned.bytes)
        self.owner = owned
    }

    /// True when these bytes point into a file mapping rather than a private copy.
    public var isZeroCopy: Bool { !(owner is OwnedBuffer) }

    public var count: Int { buffer.count }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(buffer) }
    }
}

/// A heap buffer with a fixed size, 64-byte aligned, freed on deinit.
public final class OwnedBuffer: @unchecked Sendable {
    public let bytes: UnsafeMutableRawBufferPointer

    public init(count: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
    }

    deinit { bytes.deallocate() }
}

extension TensorBytes {
    /// Drops these bytes' pages from the process when they are a view into a file mapping (they
    /// stay in the page cache). Streaming converters call this after each tensor so resident memory
    /// stays bounded by one tensor whatever the model size. No effect on private copies.
    public func releasePages() {
        guard let file = owner as? MappedFile, let base = buffer.baseAddress, let fileBase = file.bytes.baseAddress else { return }
        file.release(offset: base - fileBase, length: buffer.count)
    }
}

extension TensorBytes {
    /// Passes the bytes `range` (default: all) to `body` in consecutive pieces of at most `chunk`
    /// bytes. A view into a file mapping is read through `MappedFile.read`: copied under the SIGBUS
    /// guard, so an input truncated by another process throws `FileError.changedWhileMapped` naming
    /// the file rather than crashing. A private copy is passed in place (it cannot fault).
    /// Streaming readers use this rather than `withUnsafeBytes` on mapped tensors.
    public func read(_ range: Range<Int>? = nil, chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let r = range ?? 0..<buffer.count
        precondition(r.lowerBound >= 0 && r.upperBound <= buffer.count, "read of \(r) outside \(buffer.count) bytes")
        let part = UnsafeRawBufferPointer(rebasing: buffer[r])
        try withExtendedLifetime(owner) {
            if let file = owner as? MappedFile {
                try MappedFile.guardedCopies(of: part, chunk: chunk, file: file.path, body)
            } else {
                var done = 0
                while done < part.count {
                    let n = min(max(chunk, 1), part.count - done)
                    try body(UnsafeRawBufferPointer(rebasing: part[done..<(done + n)]))
                    done += n
                }
            }
        }
    }
}
