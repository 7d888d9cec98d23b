/// The opcodes `PickleMachine` executes (CPython `Lib/pickle.py` names, in lower camel case).
enum PickleOpcode: UInt8 {
    // Framing and control.
    case proto = 0x80, frame = 0x95, stop = 0x2E
    case mark = 0x28, pop = 0x30, popMark = 0x31, dup = 0x32
    // Globals, calls, persistent ids.
    case global = 0x63, stackGlobal = 0x93
    case reduce = 0x52, build = 0x62, newObj = 0x81, newObjEx = 0x92, binPersId = 0x51
    // Containers.
    case tuple = 0x74, tuple1 = 0x85, tuple2 = 0x86, tuple3 = 0x87, emptyTuple = 0x29
    case emptyList = 0x5D, list = 0x6C, append = 0x61, appends = 0x65
    case emptyDict = 0x7D, dict = 0x64, setItem = 0x73, setItems = 0x75
    case emptySet = 0x8F, addItems = 0x90, frozenSet = 0x91
    // Scalars.
    case none = 0x4E, newTrue = 0x88, newFalse = 0x89
    case binInt = 0x4A, binInt1 = 0x4B, binInt2 = 0x4D, long1 = 0x8A, long4 = 0x8B
    case binFloat = 0x47
    case binUnicode = 0x58, shortBinUnicode = 0x8C, binUnicode8 = 0x8D
    case shortBinString = 0x55, binString = 0x54
    case binBytes = 0x42, shortBinBytes = 0x43, binBytes8 = 0x8E, byteArray8 = 0x96
    // Memo.
    case binGet = 0x68, longBinGet = 0x6A, binPut = 0x71, longBinPut = 0x72, memoize = 0x94

    /// Real pickle opcodes that are refused, with their CPython names for error messages: INST
    /// and OBJ import and call by themselves, EXT* call through the copyreg extension registry,
    /// the buffer opcodes need out-of-band data, and the protocol-0 text opcodes are never written
    /// by torch (refusing them keeps the parser small).
    static let refused: [UInt8: String] = [
        0x69: "INST", 0x6F: "OBJ", 0x50: "PERSID",
        0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
        0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE",
        0x67: "GET", 0x70: "PUT",
    ]
}
