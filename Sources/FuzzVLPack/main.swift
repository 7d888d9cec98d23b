import VLCore
import VLPackFormat

/// libFuzzer entry point for the `.vlpack` reader: open (preamble, header JSON, tensor table) and,
/// when that succeeds, the integrity walk over every tensor. Each input is presented as a mapped
/// file (an in-memory copy).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz-input") else { return 0 }
    if let pack = try? VLPackFile(mapping: file) { _ = pack.verifyIntegrity() }
    return 0
}
