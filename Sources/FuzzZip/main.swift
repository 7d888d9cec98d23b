import Glibc
import VLCore
import VLTorch

/// libFuzzer entry point for the torch readers (zip and legacy). The readers map files, so each
/// input goes through a file in /dev/shm; every tensor found is then fetched and hashed so the
/// storage bounds checks are exercised too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "/dev/shm/vlpack-fuzz-zip-\(getpid())"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = write(fd, data, size)
    close(fd)
    defer { unlink(path) }
    guard let file = try? MappedFile(path: path) else { return 0 }
    let source: (any TensorSource)? =
        TorchLegacyCheckpoint.matches(file.bytes) ? try? TorchLegacyCheckpoint(file: file) : try? TorchZipCheckpoint(file: file)
    for entry in source?.entries ?? [] {
        _ = try? source?.bytes(of: entry).withUnsafeBytes { SHA256.hex(of: $0) }
    }
    return 0
}
