import CVLKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension AtomicFile {
    /// The one naming pattern of every visible temporary an `AtomicFile` makes, and the sweep that
    /// removes those a dead process left: `.<base>.vlpack-tmp-<pid>-<16 hex digits>` beside the target.
    ///
    /// The pid is the owner's, so a later run can tell a stale file (`kill(pid, 0)` fails with ESRCH)
    /// from one another live process is still writing. A pid reused by an unrelated live process
    /// only delays the removal to a later run; nothing outside this exact pattern is ever touched.
    enum TemporaryName {
        static let marker = ".vlpack-tmp-"

        static func make(folder: String, base: String) -> String {
            let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let name = ".\(base)\(marker)\(getpid())-\(String(repeating: "0", count: 16 - random.count))\(random)"
            return folder == "/" ? "/\(name)" : "\(folder)/\(name)"
        }

        /// The owning pid when `name` follows the pattern exactly, else `nil`.
        static func owner(of name: String) -> pid_t? {
            let bytes = Array(name.utf8), mark = Array(marker.utf8)
            // ".", a non-empty base, the marker, digits, "-", 16 hex digits.
            guard bytes.count > 1 + 1 + mark.count + 1 + 1 + 16, bytes[0] == UInt8(ascii: ".") else { return nil }
            let hex = bytes.suffix(16), dash = bytes.count - 17
            guard bytes[dash] == UInt8(ascii: "-"), hex.allSatisfy(isHex) else { return nil }
            var start = dash
            while start > 0, isDigit(bytes[start - 1]) { start -= 1 }
            guard start < dash, start - mark.count >= 2, Array(bytes[(start - mark.count)..<start]) == mark,
                let pid = pid_t(String(decoding: bytes[start..<dash], as: UTF8.self)), pid > 0
            else { return nil }
            return pid
        }

        private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        private static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x61 && c <= 0x66) }

        /// Unlinks every temporary of this pattern in `folder` whose owner is dead. Best effort: a
        /// folder that cannot be listed is left alone (creating the output will report it). O(entries).
        static func removeStale(in folder: String) {
            guard let dir = opendir(folder) else { return }
            defer { closedir(dir) }
            // The name is read in place up to its NUL: a dirent record can be shorter than
            // `struct dirent` (d_reclen), so copying the whole d_name array reads past it.
            let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            while let entry = readdir(dir) {
                let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
                // A live owner (this process included) is still writing; only ESRCH means dead.
                guard let pid = owner(of: name), kill(pid, 0) != 0, errno == ESRCH else { continue }
                unlinkat(dirfd(dir), name, 0)
            }
        }

        /// errno values with which `open(O_TMPFILE)` says "not here" rather than "cannot write here":
        /// kernels before 3.11 (EISDIR, since O_TMPFILE includes O_DIRECTORY), file systems without
        /// support (EOPNOTSUPP), and some emulations (EINVAL).
        static func unnamedUnsupported(_ e: Int32) -> Bool {
            e == EOPNOTSUPP || e == EISDIR || e == EINVAL
        }
    }

    /// An `O_TMPFILE` descriptor in `folder`, or -1 with errno set. Also -1 (EOPNOTSUPP) without
    /// `/proc/self/fd`, which `commit()` needs to give the file a name.
    static func openUnnamed(in folder: String) -> Int32 {
        #if os(Linux)
        guard access("/proc/self/fd", F_OK) == 0 else {
            errno = EOPNOTSUPP
            return -1
        }
        return vl_open_tmpfile(folder, 0o644)
        #else
        errno = EOPNOTSUPP
        return -1
        #endif
    }
}
