import CVLKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output file that appears at its final path complete or not at all.
///
/// Bytes go to a hidden temporary file next to `path` (same folder, so the final `rename(2)` is
/// atomic). `commit()` flushes, fsyncs, renames over `path` and fsyncs the folder. Until then `path`
/// is untouched, and anyone who has an older file at `path` mapped keeps a valid mapping (the rename
/// replaces the directory entry, not the inode). `abandon()` — also run by `deinit` when `commit()`
/// was never reached — closes and removes the temporary file, so an error or an early return leaves
/// nothing behind.
///
/// Writes are sequential through a 1 MiB buffer (small chunks are cheap); `write(_:at:)` patches
/// bytes already reserved (e.g. a header whose checksums are known only at the end).
///
/// Not thread-safe: one owner writes.
public final class AtomicFile {
    /// Where the file appears on `commit()`.
    public let path: String
    /// The hidden file written until then, in `path`'s folder.
    public let temporaryPath: String
    private let folder: String
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

    /// Creates the temporary file. Throws `.overwritesInput` when `path` names the same file as one
    /// of `inputs` (same device and inode, or same resolved path): replacing an input that is still
    /// being read — possibly through a mapping — would corrupt the output and lose the input.
    public init(path: String, refusingToReplace inputs: [String] = []) throws(AtomicFileError) {
        self.path = path
        if let input = inputs.first(where: { Self.sameFile(path, $0) }) {
            throw .overwritesInput(path: path, input: input)
        }
        let slash = path.lastIndex(of: "/")
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        folder = slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        temporaryPath = "\(folder == "/" ? "" : folder)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: temporaryPath, operation: "create", errno: errno) }
        // Removed by the signal handlers (`vl_cleanup_install_signal_handlers`) on Ctrl-C as well.
        cleanupSlot = vl_cleanup_register(temporaryPath)
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

    /// Flushes, fsyncs and renames the file into place, then fsyncs the folder. After a failure the
    /// temporary file is removed and `path` is untouched.
    public func commit() throws(AtomicFileError) {
        try requireOpen()
        do throws(AtomicFileError) {
            try flush()
            guard fsync(fd) == 0 else { throw AtomicFileError.io(path: temporaryPath, operation: "fsync", errno: errno) }
            let result = close(fd)
            fd = -1
            guard result == 0 else { throw AtomicFileError.io(path: temporaryPath, operation: "close", errno: errno) }
            guard rename(temporaryPath, path) == 0 else { throw AtomicFileError.io(path: path, operation: "rename", errno: errno) }
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

    /// Closes and removes the temporary file. Idempotent; a no-op after `commit()`.
    public func abandon() {
        guard !committed, !abandoned else { return }
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        // Also after a failed close or rename in `commit()`, when the descriptor is already gone.
        unlink(temporaryPath)
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
        guard fd >= 0 else { throw .io(path: temporaryPath, operation: "write", errno: EBADF) }
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
            throw .io(path: temporaryPath, operation: "sync_file_range", errno: errno)
        }
        if startedUpTo > droppedUpTo {
            guard vl_wait_writeback(fd, Int64(droppedUpTo), Int64(startedUpTo - droppedUpTo)) == 0 else {
                throw .io(path: temporaryPath, operation: "sync_file_range", errno: errno)
            }
            _ = posix_fadvise(fd, off_t(droppedUpTo), off_t(startedUpTo - droppedUpTo), POSIX_FADV_DONTNEED)
            droppedUpTo = startedUpTo
        }
        startedUpTo = offset
        #else
        guard fdatasync(fd) == 0 else { throw .io(path: temporaryPath, operation: "fdatasync", errno: errno) }
        droppedUpTo = offset
        #endif
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at position: Int) throws(AtomicFileError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: temporaryPath, operation: "write", errno: errno)
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

    public var detail: String {
        switch self {
        case let .io(path, operation, e): "\(operation) \(path): \(String(cString: strerror(e)))"
        case let .overwritesInput(path, input): "output \(path) is the input \(input); choose another output path"
        }
    }
}
