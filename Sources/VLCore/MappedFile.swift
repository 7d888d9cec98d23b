#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only. This is the one place VLPack calls `mmap`; everything else sees an
/// `UnsafeRawBufferPointer` that stays valid for the lifetime of this object.
///
/// Cost: O(1) to open (no data is read); pages are faulted in on first touch.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// Size of the file in bytes when it was mapped.
    public let count: Int
    private let base: UnsafeRawPointer?
    /// True for `init(copying:path:)`: there is no file behind the pages, so they are never dropped.
    private let isAnonymous: Bool

    public init(path: String) throws(FileError) {
        self.path = path
        isAnonymous = false
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.cannotOpen(path: path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError.notARegularFile(path: path) }
        let size = Int(st.st_size)
        count = size
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileError.cannotMap(path: path, errno: errno) }
        base = UnsafeRawPointer(p)
    }

    /// A read-only in-memory copy of `bytes` presented as a mapped file named `path` (parsers that
    /// take a `MappedFile` can then read buffers, e.g. fuzz inputs, without touching the disk).
    /// Cost: one anonymous mapping and one copy of `bytes`.
    public init(copying bytes: UnsafeRawBufferPointer, path: String) throws(FileError) {
        self.path = path
        count = bytes.count
        isAnonymous = true
        guard bytes.count > 0 else {
            base = nil
            return
        }
        let p = mmap(nil, bytes.count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { throw FileError.cannotMap(path: path, errno: errno) }
        p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        _ = mprotect(p, bytes.count, PROT_READ)
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole mapping. Valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A bounds-checked sub-range, or `nil` when `[offset, offset+length)` is not inside the file.
    public func range(offset: Int, length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, let end = Checked.add(offset, length), end <= count else { return nil }
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
    }

    /// Tells the kernel the given range will not be needed again soon, so its pages can be dropped
    /// from this process's resident set (used when streaming through inputs much larger than RAM).
    public func release(offset: Int, length: Int) {
        // MADV_DONTNEED on anonymous memory would zero it, not just drop it.
        guard let base, length > 0, !isAnonymous else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let end = min(count, offset + length)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }
}

public enum FileError: RuleError {
    case cannotOpen(path: String, errno: Int32)
    case notARegularFile(path: String)
    case cannotMap(path: String, errno: Int32)

    public var detail: String {
        switch self {
        case let .cannotOpen(path, e): "cannot open \(path): \(String(cString: strerror(e)))"
        case let .notARegularFile(path): "\(path) is not a regular file"
        case let .cannotMap(path, e): "cannot map \(path): \(String(cString: strerror(e)))"
        }
    }
}
