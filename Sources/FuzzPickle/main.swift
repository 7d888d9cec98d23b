import VLPickle

/// libFuzzer entry point: any input must end in a result or a `PickleError`, never a crash,
/// hang or unbounded allocation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = try? PickleMachine().run(bytes)
    return 0
}
