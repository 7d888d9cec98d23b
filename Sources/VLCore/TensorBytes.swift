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
