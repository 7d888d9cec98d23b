import Glibc
import VLCore
import VLPackFormat

/// libFuzzer entry point for the `.vlpack` reader: open (preamble, header JSON, tensor table) and,
/// when that succeeds, the integrity walk over every tensor. The reader maps files, so each input
/// goes through a file in /dev/shm.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "/dev/shm/vlpack-fuzz-vlpack-\(getpid())"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = write(fd, data, size)
    close(fd)
    defer { unlink(path) }
    if let file = try? VLPackFile(path: path) { _ = file.verifyIntegrity() }
    return 0
}
