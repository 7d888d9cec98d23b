import VLSafetensors

/// libFuzzer entry point: the input is a whole safetensors file. Refusals are the expected outcome;
/// only crashes, hangs and sanitizer reports matter.
@_cdecl("LLVMFuzzerTestOneInput") public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? SafetensorsFile.parseHeader(UnsafeRawBufferPointer(start: data, count: size), fileName: "fuzz-input")
    return 0
}
