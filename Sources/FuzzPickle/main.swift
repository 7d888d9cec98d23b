import VLTorch

/// libFuzzer entry point: the pickle machine plus the torch object-graph walk. Any input must end
/// in a result or a rule error, never a crash, hang or unbounded allocation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? RawPickleFile(bytes: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz")
    return 0
}
