import VLCore
import VLTorch

/// libFuzzer entry point for the torch readers (zip and legacy). Each input is presented as a mapped
/// file (an in-memory copy); every tensor found is then fetched and hashed so the
/// storage bounds checks are exercised too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz-input") else { return 0 }
    let source: (any TensorSource)? =
        TorchLegacyCheckpoint.matches(file.bytes) ? try? TorchLegacyCheckpoint(file: file) : try? TorchZipCheckpoint(file: file)
    for entry in source?.entries ?? [] {
        _ = try? source?.bytes(of: entry).withUnsafeBytes { SHA256.hex(of: $0) }
    }
    return 0
}
