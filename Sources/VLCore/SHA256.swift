import CVLKernels

/// Streaming SHA-256. Used for `inspect --hash` and for provenance of source files.
public struct SHA256 {
    private var ctx = vl_sha256_ctx()

    public init() { vl_sha256_init(&ctx) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        vl_sha256_update(&ctx, base, bytes.count)
    }

    /// Lowercase hex digest. The hasher must not be used afterwards.
    public mutating func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        vl_sha256_final(&ctx, &digest)
        return digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    public static func hex(of bytes: UnsafeRawBufferPointer) -> String {
        var h = SHA256()
        h.update(bytes)
        return h.finalizeHex()
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
