import CVLKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output file that appears at its final path complete or not at all — also when the process is
/// killed (SIGKILL, power loss) at any moment.
///
/// Invariants:
/// - **Nothing partial is ever visible.** On Linux the bytes go to an *unnamed* file in `path`'s
///   folder (`open(folder, O_TMPFILE)`): it has no directory entry, so no other process can see it,
///   and when this process dies for any reason the kernel frees it with the last descriptor.
/// - **Replacement is atomic.** `commit()` fsyncs, gives the complete file a unique hidden name
///   (`linkat` through `/proc/self/fd`; `linkat` cannot replace an existing file), `rename(2)`s that
///   over `path` and fsyncs the folder. A reader sees the old file or the new one, never a mix; a
///   process that has the old file mapped keeps a valid mapping (rename replaces the entry, not the
///   inode). Until the rename, `path` is untouched.
/// - **Nothing stale survives the next run.** A SIGKILL between `linkat` and `rename` leaves a
///   *complete* file under the unique name; with the named fallback (file systems or kernels without
///   `O_TMPFILE`, or `VLPACK_NAMED_TEMPORARIES` set) a kill at any moment leaves the partial temporary.
///   Both use one naming pattern (`TemporaryName`), and every `AtomicFile` created in a folder first
///   removes the temporaries of that pattern whose owning process is dead (`kill(pid, 0)` is ESRCH).
///   SIGINT/SIGTERM/SIGHUP unlink the visible names at once (`vl_cleanup_*`).
///
/// Cost: one `readdir` of the output folder at creation (the sweep), one `fsync` of the file and one
/// of the folder at commit; `linkat` + `rename` are two metadata operations. Writes are sequential
/// through a 1 MiB buffer (small chunks are cheap); `write(_:at:)` patches bytes already reserved
/// (e.g. a header whose checksums are known only at the end). Errors name `path` (the output), not
/// the temporary: that is the name the user gave.
///
/// `abandon()` — also run by `deinit` when `commit()` was never reached — closes the file (and
/// unlinks the named temporary), so an error or an early return leaves nothing behind.
///
/// Not thread-safe: one owner writes.
public final class AtomicFile {
    /// How the bytes are kept invisible until `commit()`.
    public enum Strategy: Sendable, Equatable {
        /// `O_TMPFILE` + `linkat` (Linux); falls back to `.named` where the file system refuses it.
        case unnamed
        /// A hidden named file beside `path`, renamed on commit (the portable fallback).
        case named

        /// `.unnamed`, unless `VLPACK_NAMED_TEMPORARIES` is set in the environment — the switch the
        /// fault tests use to run the fallback through the real CLI.
        public static var preferred: Strategy { getenv("VLPACK_NAMED_TEMPORARIES") == nil ? .unnamed : .named }
    }

    /// Where the file appears on `commit()`.
    public let path: String
    /// The strategy in effect (`.named` when `.unnamed` was asked for but is unsupported here).
    public let strategy: Strategy
    /// The visible temporary name: the named fallback's file, or `nil` while the file is unnamed.
    public private(set) var temporaryPath: String?
    private let folder: String
    private let base: String
    /// Offset the next sequential `write` lands at.
    public private(set) var offset = 0

    /// When set, every time this many more bytes have been written the file is `fdatasync`ed and the
    /// written range is dropped from the page cache (`posix_fadvise(DONTNEED)`, Linux only), so that
    /// writing a file larger than RAM does not evict everything else. Clean pages are the only ones
    /// the kernel can drop, hence the sync first. `nil` (the default) leaves the cache alone.
    public var cacheDropInterval: Int?

    private static let capacity = 1 << 20
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false
    private var abandoned = false
    /// Written and dropped from the cache below this offset.
    private var droppedUpTo = 0
    /// Write-back started (not yet waited for) below this offset.
    private var startedUpTo = 0
    /// Slot in the signal handlers' list of temporary files (-1: none).
    private var cleanupSlot: Int32 = -1

    /// Removes stale temporaries in the folder, then creates the (unnamed or named) temporary file.
    /// Throws `.overwritesInput` when `path` names the same file as one of `inputs` (same device and
    /// inode, or same resolved path): replacing an input that is still being read — possibly through
    /// a mapping — would corrupt the output and lose the input. Throws `.notARegularFile` when `path`
    /// exists as a directory, FIFO or device (renaming over it would fail late, or replace a device
    /// node), and `.io` naming `path` when the folder is missing or not writable.
    public init(path: String, refusingToReplace inputs: [String] = [], strategy: Strategy = .preferred) throws(AtomicFileError) {
        self.path = path
        if let input = inputs.first(where: { Self.sameFile(path, $0) }) {
            throw .overwritesInput(path: path, input: input)
        }
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            throw .notARegularFile(path: path, kind: FileError.kind(of: st.st_mode))
        }
        let slash = path.lastIndex(of: "/")
        base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        folder = slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        TemporaryName.removeStale(in: folder)
        var chosen = strategy
        fd = -1
        if strategy == .unnamed {
            fd = Self.openUnnamed(in: folder)
            if fd < 0 {
                guard TemporaryName.unnamedUnsupported(errno) else { throw .io(path: path, operation: "create", errno: errno) }
                chosen = .named
            }
        }
        if chosen == .named {
            let name = TemporaryName.make(folder: folder, base: base)
            fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .io(path: path, operation: "create", errno: errno) }
            temporaryPath = name
            // Removed by the signal handlers (`vl_cleanup_install_signal_handlers`) on Ctrl-C as well.
            cleanupSlot = vl_cleanup_register(name)
        }
        self.strategy = chosen
        buffer.reserveCapacity(Self.capacity)
    }

    deinit { abandon() }

    /// Appends `bytes` at `offset`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(AtomicFileError) {
        try requireOpen()
        if buffer.count + bytes.count > Self.capacity { try flush() }
        if bytes.count >= Self.capacity {
            try writeAll(bytes, at: offset)
        } else {
            buffer.append(contentsOf: bytes)
        }
        offset += bytes.count
        if let interval = cacheDropInterval, offset - startedUpTo >= interval { try dropCache() }
    }

    public func write(_ bytes: [UInt8]) throws(AtomicFileError) {
        try withBytes(bytes) { b throws(AtomicFileError) in try write(b) }
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws(AtomicFileError) {
        var left = count
        let zeros = [UInt8](repeating: 0, count: min(count, 1 << 16))
        while left > 0 {
            let n = min(left, zeros.count)
            try withBytes(zeros) { b throws(AtomicFileError) in try write(UnsafeRawBufferPointer(rebasing: b[0..<n])) }
            left -= n
        }
    }

    /// Moves the sequential position to `newOffset` (forward leaves a hole that reads as zeros and,
    /// on most file systems, takes no space until written).
    public func seek(to newOffset: Int) throws(AtomicFileError) {
        try requireOpen()
        try flush()
        offset = newOffset
    }

    /// Writes `bytes` at `position` without moving the sequential position.
    public func write(_ bytes: [UInt8], at position: Int) throws(AtomicFileError) {
        try requireOpen()
        try flush()
        try withBytes(bytes) { b throws(AtomicFileError) in try writeAll(b, at: position) }
    }

    /// Flushes, fsyncs and renames the file into place, then fsyncs the folder. After a failure no
    /// temporary is left and `path` is untouched.
    public func commit() throws(AtomicFileError) {
        try requireOpen()
        do throws(AtomicFileError) {
            try flush()
            guard fsync(fd) == 0 else { throw AtomicFileError.io(path: path, operation: "fsync", errno: errno) }
            if temporaryPath == nil {
                // Name the complete file first: linkat cannot replace an existing `path`.
                let name = TemporaryName.make(folder: folder, base: base)
                // Registered before the link exists, so Ctrl-C right after linkat still removes it.
                cleanupSlot = vl_cleanup_register(name)
                guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 else {
                    let e = errno
                    unregisterCleanup()
                    throw AtomicFileError.io(path: path, operation: "link", errno: e)
                }
                temporaryPath = name
            }
            let result = close(fd)
            fd = -1
            guard result == 0 else { throw AtomicFileError.io(path: path, operation: "close", errno: errno) }
            guard rename(temporaryPath!, path) == 0 else { throw AtomicFileError.io(path: path, operation: "rename", errno: errno) }
            unregisterCleanup()
        } catch {
            abandon()
            throw error
        }
        committed = true
        // The rename is only durable once the folder is synced; the file is complete either way, so a
        // failure here is not reported.
        let dirFD = open(folder, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// Closes the file and unlinks its visible name, if it has one. Idempotent; a no-op after
    /// `commit()`.
    public func abandon() {
        guard !committed, !abandoned else { return }
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        // Also after a failed close or rename in `commit()`, when the descriptor is already gone.
        if let temporaryPath { unlink(temporaryPath) }
        unregisterCleanup()
        abandoned = true
        buffer.removeAll()
    }

    /// At most once per slot: after this the slot may belong to another file.
    private func unregisterCleanup() {
        vl_cleanup_unregister(cleanupSlot)
        cleanupSlot = -1
    }

    private func requireOpen() throws(AtomicFileError) {
        guard fd >= 0 else { throw .io(path: path, operation: "write", errno: EBADF) }
    }

    private func flush() throws(AtomicFileError) {
        guard !buffer.isEmpty else { return }
        let start = offset - buffer.count
        try withBytes(buffer) { b throws(AtomicFileError) in try writeAll(b, at: start) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Pipelined write-back: start writing the newest window to disk without waiting, and wait only
    /// for the window before it (long since under way), then drop that one from the page cache. A
    /// blocking `fdatasync` per window would stall the producer for every window; this keeps the disk
    /// and the producer busy at the same time, as `cp` lets the kernel do.
    private func dropCache() throws(AtomicFileError) {
        try flush()
        #if os(Linux)
        guard vl_start_writeback(fd, Int64(startedUpTo), Int64(offset - startedUpTo)) == 0 else {
            throw .io(path: path, operation: "sync_file_range", errno: errno)
        }
        if startedUpTo > droppedUpTo {
            guard vl_wait_writeback(fd, Int64(droppedUpTo), Int64(startedUpTo - droppedUpTo)) == 0 else {
                throw .io(path: path, operation: "sync_file_range", errno: errno)
            }
            _ = posix_fadvise(fd, off_t(droppedUpTo), off_t(startedUpTo - droppedUpTo), POSIX_FADV_DONTNEED)
            droppedUpTo = startedUpTo
        }
        startedUpTo = offset
        #else
        guard fdatasync(fd) == 0 else { throw .io(path: path, operation: "fdatasync", errno: errno) }
        droppedUpTo = offset
        #endif
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at position: Int) throws(AtomicFileError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    /// True when both paths exist and name the same inode (which also catches symlinks, hard links
    /// and different spellings of one path). A path that does not exist yet replaces nothing.
    private static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}

/// `Array.withUnsafeBytes` only rethrows untyped errors; this keeps the error type.
private func withBytes(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(AtomicFileError) -> Void) throws(AtomicFileError) {
    try array.withUnsafeBytes { b in Result { () throws(AtomicFileError) in try body(b) } }.get()
}

/// Why an `AtomicFile` could not be written.
public enum AtomicFileError: RuleError, Equatable {
    case io(path: String, operation: String, errno: Int32)
    /// The output path names one of the inputs being converted.
    case overwritesInput(path: String, input: String)
    /// The output path exists as a directory, FIFO or device; `kind` says which.
    case notARegularFile(path: String, kind: String)

    public var detail: String {
        switch self {
        case let .io(path, operation, e): "\(operation) \(path): \(String(cString: strerror(e)))"
        case let .overwritesInput(path, input): "output \(path) is the input \(input); choose another output path"
        case let .notARegularFile(path, kind): "output \(path) is \(kind), not a regular file; name a file to write"
        }
    }
}
