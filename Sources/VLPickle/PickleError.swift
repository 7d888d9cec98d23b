import VLCore

/// Why a pickle was refused. Each case is named after the rule that failed (read it with `rule`)
/// and carries `offset`, the byte offset of the opcode that failed in the buffer given to
/// `PickleMachine.run`.
public enum PickleError: RuleError {
    /// GLOBAL or STACK_GLOBAL named something the policy forbids (`global` is `module.name`).
    case forbiddenGlobal(offset: Int, global: String)
    /// A real pickle opcode this reader refuses: it imports or calls by itself (INST, OBJ, EXT*),
    /// needs out-of-band data (NEXT_BUFFER, READONLY_BUFFER), or is a protocol-0 text opcode.
    case forbiddenOpcode(offset: Int, opcode: UInt8, name: String)
    /// A byte that is not a pickle opcode at all.
    case unknownOpcode(offset: Int, opcode: UInt8)
    /// The input ends before STOP, or a fixed-size argument runs past the end.
    case truncated(offset: Int)
    /// An opcode needs more stack items (above the innermost MARK), or an open MARK, than exist.
    case stackUnderflow(offset: Int)
    case stackLimit(offset: Int, limit: Int)
    case markLimit(offset: Int, limit: Int)
    /// BINGET/LONG_BINGET of a memo slot never written.
    case memoMissing(offset: Int, index: Int)
    /// A memo index at or above `PickleLimits.maxMemoEntries`.
    case memoLimit(offset: Int, index: Int, limit: Int)
    /// A string/bytes length prefix larger than the bytes left in the input (checked before any
    /// allocation). Negative signed lengths are reported here too, as their unsigned bit pattern.
    case lengthExceedsInput(offset: Int, length: UInt64, remaining: Int)
    case operationLimit(offset: Int, limit: Int)
    /// The heap would exceed `PickleLimits.maxObjects`.
    case objectLimit(offset: Int, limit: Int)
    /// An operand has the wrong kind, e.g. APPEND onto a non-list or an odd number of DICT items.
    case typeMismatch(offset: Int, expected: String, found: String)
    case invalidUTF8(offset: Int)
    /// PROTO with a version above 5.
    case invalidProtocol(offset: Int, version: UInt8)
    /// A protocol-4 FRAME whose length runs past the end of the input (frames must lie inside it).
    case frameExceedsInput(offset: Int, length: UInt64, remaining: Int)
    /// A FRAME that starts before the previous frame's bytes are used up (as CPython refuses).
    case frameOverlap(offset: Int, previousFrameEnd: Int)
    /// Containers nest deeper than `PickleLimits.maxNestingDepth`; `offset` is the STOP opcode,
    /// where the finished object graph is measured.
    case nestingLimit(offset: Int, limit: Int)

    public var detail: String {
        switch self {
        case let .forbiddenGlobal(offset, global):
            "global \(global) at offset \(offset) is forbidden (it can run code or touch the system)"
        case let .forbiddenOpcode(offset, opcode, name):
            "opcode \(name) (0x\(String(opcode, radix: 16))) at offset \(offset) is not allowed"
        case let .unknownOpcode(offset, opcode):
            "byte 0x\(String(opcode, radix: 16)) at offset \(offset) is not a pickle opcode"
        case let .truncated(offset):
            "input ends inside the opcode at offset \(offset), before STOP"
        case let .stackUnderflow(offset):
            "opcode at offset \(offset) needs more stack items, or an open MARK, than there are"
        case let .stackLimit(offset, limit):
            "stack grows past \(limit) items at offset \(offset)"
        case let .markLimit(offset, limit):
            "MARK nesting exceeds \(limit) at offset \(offset)"
        case let .memoMissing(offset, index):
            "memo slot \(index) read at offset \(offset) was never written"
        case let .memoLimit(offset, index, limit):
            "memo index \(index) at offset \(offset) is not below the limit \(limit)"
        case let .lengthExceedsInput(offset, length, remaining):
            "length \(length) at offset \(offset) exceeds the \(remaining) bytes left"
        case let .operationLimit(offset, limit):
            "more than \(limit) operations by offset \(offset)"
        case let .objectLimit(offset, limit):
            "more than \(limit) objects by offset \(offset)"
        case let .typeMismatch(offset, expected, found):
            "opcode at offset \(offset) expected \(expected), found \(found)"
        case let .invalidUTF8(offset):
            "text at offset \(offset) is not valid UTF-8"
        case let .invalidProtocol(offset, version):
            "PROTO \(version) at offset \(offset) is not a known pickle protocol (0-5)"
        case let .frameExceedsInput(offset, length, remaining):
            "FRAME at offset \(offset) claims \(length) bytes but only \(remaining) follow"
        case let .frameOverlap(offset, previousFrameEnd):
            "FRAME at offset \(offset) starts inside the previous frame, which ends at offset \(previousFrameEnd)"
        case let .nestingLimit(offset, limit):
            "containers nest deeper than \(limit) levels in the pickle ending at offset \(offset)"
        }
    }
}
