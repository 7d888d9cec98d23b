import CVLKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only. This is the one place VLPack calls `mmap`; everything else sees an
/// `UnsafeRawBufferPointer` that stays valid for the lifetime of this object.
///
/// Cost: O(1) to open (no data is read); pages are faulted in on first touch.
///
/// Paths that are not regular files are refused before anything is read: a FIFO is opened with
/// `O_NONBLOCK` so that opening it cannot hang, then refused by `fstat` like a directory or device.
///
/// A file that another process truncates while it is mapped would raise SIGBUS on the next touch
/// past its new end. Every mapping is registered with the SIGBUS guard (`mapguard.c`): `read(offset:
/// length:chunk:_:)` copies under the guard and throws `changedWhileMapped`; a fault in any other read
/// of the mapping prints one error line naming the file and exits 1 instead of dumping core.
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
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileError.opening(path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.cannotOpen(path: path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError.notARegularFile(path: path, kind: FileError.kind(of: st.st_mode)) }
        let size = Int(st.st_size)
        count = size
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileError.cannotMap(path: path, errno: errno) }
        base = UnsafeRawPointer(p)
        _ = vl_mapguard_register(p, size, path)
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
        guard let base else { return }
        if !isAnonymous { vl_mapguard_unregister(base) }
        munmap(UnsafeMutableRawPointer(mutating: base), count)
    }

    /// The whole mapping. Valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A bounds-checked sub-range, or `nil` when `[offset, offset+length)` is not inside the file.
    public func range(offset: Int, length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, let end = Checked.add(offset, length), end <= count else { return nil }
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
    }

    /// Passes `[offset, offset+length)` to `body` in consecutive copies of at most `chunk` bytes, each
    /// copied out of the mapping under the SIGBUS guard into one scratch buffer. Throws
    /// `changedWhileMapped` when the file was truncated under the mapping, instead of dying. The range
    /// must lie inside the mapping. Cost: one memcpy of the range (~10 GB/s) and `chunk` bytes of
    /// scratch; pass `chunk` as a multiple of the element size so no element is split.
    public func read(offset: Int, length: Int, chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let whole = range(offset: offset, length: length) else {
            preconditionFailure("read of [\(offset), +\(length)) outside \(path) (\(count) bytes)")
        }
        try MappedFile.guardedCopies(of: whole, chunk: chunk, file: path, body)
    }

    /// The copying loop of `read`, for any buffer that lies in a registered mapping of `file`.
    static func guardedCopies(
        of whole: UnsafeRawBufferPointer, chunk: Int, file: String,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard whole.count > 0 else { return }
        let size = min(max(chunk, 1), whole.count)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { scratch.deallocate() }
        var done = 0
        while done < whole.count {
            let n = min(size, whole.count - done)
            guard vl_guarded_copy(scratch.baseAddress!, whole.baseAddress! + done, n) == 0 else {
                throw FileError.changedWhileMapped(path: file)
            }
            try body(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            done += n
        }
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
    /// `path` is a symbolic link whose target does not exist.
    case danglingSymlink(path: String, target: String)
    /// A directory, FIFO, device or socket where a file is expected; `kind` says which.
    case notARegularFile(path: String, kind: String)
    case cannotMap(path: String, errno: Int32)
    /// Another process truncated the file while it was mapped (a read past the new end faulted).
    case changedWhileMapped(path: String)

    public var detail: String {
        switch self {
        case let .cannotOpen(path, e): "cannot open \(path): \(String(cString: strerror(e)))"
        case let .danglingSymlink(path, target): "\(path) is a symbolic link to \(target), which does not exist"
        case let .notARegularFile(path, kind): "\(path) is \(kind), not a regular file"
        case let .cannotMap(path, e): "cannot map \(path): \(String(cString: strerror(e)))"
        case let .changedWhileMapped(path): "\(path) shrank while it was being read (another process truncated or rewrote it)"
        }
    }

    /// The error for a failed `open(path)`: `danglingSymlink` when `path` is a link to nothing (the
    /// bare ENOENT would say the link itself is missing), else `cannotOpen`.
    public static func opening(_ path: String, errno e: Int32) -> FileError {
        var st = stat()
        if e == ENOENT, lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &target, target.count - 1)
            return .danglingSymlink(path: path, target: n > 0 ? String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?")
        }
        return .cannotOpen(path: path, errno: e)
    }

    /// "a directory", "a FIFO", ... for a `stat` mode.
    public static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }
}
