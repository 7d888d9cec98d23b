import Foundation
import Testing
import VLCore
import VLPickle

// Opcode bytes used by the hand-built pickles below (CPython Lib/pickle.py).
let MARK: UInt8 = 0x28, STOP: UInt8 = 0x2E, POP: UInt8 = 0x30, NONE: UInt8 = 0x4E
let EMPTY_LIST: UInt8 = 0x5D, APPEND: UInt8 = 0x61, BINGET: UInt8 = 0x68, BINPUT: UInt8 = 0x71

/// Caps small enough to hit with a few bytes of input.
let tinyLimits = PickleLimits(maxOperations: 10, maxStackDepth: 4, maxMarkDepth: 2, maxMemoEntries: 2, maxObjects: 3)

@Test(
    arguments: [
        // MARK, INST 'os system' (protocol 0: imports and calls by itself).
        ([MARK, 0x69] + ascii("os\nsystem\n") + [STOP], 1, "INST"),
        // MARK, GLOBAL 'geometry Point', OBJ.
        ([MARK, 0x63] + ascii("geometry\nPoint\n") + [0x6F, STOP], 17, "OBJ"),
        ([0x80, 0x02, 0x82, 0x01, STOP], 2, "EXT1"),
        ([0x80, 0x05, 0x97, STOP], 2, "NEXT_BUFFER"),
        ([0x49] + ascii("1\n") + [STOP], 0, "INT"),
    ] as [([UInt8], Int, String)])
func refusedOpcodes(input: [UInt8], offset: Int, name: String) {
    let error = failure(input)
    #expect(error?.rule == "forbiddenOpcode")
    guard case let .forbiddenOpcode(at, _, opcodeName) = error else { return }
    #expect(at == offset)
    #expect(opcodeName == name)
}

@Test(arguments: [0x00, 0xFF, 0x99] as [UInt8])
func unknownOpcodeIsRefused(opcode: UInt8) {
    #expect(failure([0x80, 0x02, opcode, STOP])?.rule == "unknownOpcode")
}

@Test func deepMarkNestingHitsMarkLimit() {
    let markCount = 100_000
    let error = failure([UInt8](repeating: MARK, count: markCount) + [STOP])
    #expect(error?.rule == "markLimit")
    guard case let .markLimit(offset, limit) = error else { return }
    #expect(limit == PickleLimits.standard.maxMarkDepth)
    #expect(offset == PickleLimits.standard.maxMarkDepth, "the first MARK past the limit")
}

/// A million lists, each nested in the previous one, built with a constant stack:
/// EMPTY_LIST, BINPUT 0, APPEND (into the list below), POP, BINGET 0 (the new list is now on top).
/// The standard limits refuse it at STOP; with the nesting limit raised, neither building, nor
/// measuring, nor freeing the result may recurse a million deep.
func millionDeepListChain() -> (input: [UInt8], depth: Int) {
    let depth = 1_000_000
    var input: [UInt8] = [0x80, 0x02, EMPTY_LIST, BINPUT, 1]
    input.reserveCapacity(input.count + 7 * depth + 4)
    for _ in 0..<depth { input += [EMPTY_LIST, BINPUT, 0, APPEND, POP, BINGET, 0] }
    input += [POP, BINGET, 1, STOP]  // the outermost list is the result
    return (input, depth)
}

@Test func millionDeepListChainHitsNestingLimit() {
    let (input, _) = millionDeepListChain()
    let error = failure(input)
    #expect(error?.rule == "nestingLimit")
    guard case let .nestingLimit(offset, limit) = error else { return }
    #expect(limit == PickleLimits.standardNestingDepth)
    #expect(offset == input.count - 1, "measured at STOP")
}

@Test func millionDeepListChainDoesNotCrash() throws {
    let (input, depth) = millionDeepListChain()
    var limits = PickleLimits.standard
    limits.maxNestingDepth = depth + 1
    let result = try runPickle(input, limits: limits)
    #expect(result.heap.count == depth + 1)
    var node = result.root, levels = 0
    while let items = result.list(node), let child = items.first {
        node = child
        levels += 1
    }
    #expect(levels == depth)
}

/// APPEND must not copy the list it grows (that would be quadratic). The minute is for normal
/// builds; `make test-sanitize` sets VLPACK_SANITIZED, where ASan and a loaded 2-core machine made
/// this linear run take 89–105 s (5 s alone).
@Test(.timeLimit(.minutes(ProcessInfo.processInfo.environment["VLPACK_SANITIZED"] == nil ? 1 : 10)))
func appendsToOneListInLinearTime() throws {
    let count = 1_000_000
    var input: [UInt8] = [EMPTY_LIST]
    input.reserveCapacity(2 * count + 2)
    for _ in 0..<count { input += [NONE, APPEND] }
    input.append(STOP)
    let result = try runPickle(input)
    #expect(result.list(result.root)?.count == count)
}

@Test(
    arguments: [
        // BINUNICODE with a 4 GB length and 3 bytes after it.
        ([0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x62, STOP], UInt64(0xFFFF_FFFF)),
        // BINBYTES8 with length 2^63.
        ([0x8E, 0, 0, 0, 0, 0, 0, 0, 0x80, STOP], UInt64(1) << 63),
        // LONG4 with a negative length, reported as its bit pattern.
        ([0x8B, 0xFF, 0xFF, 0xFF, 0xFF, STOP], UInt64(0xFFFF_FFFF)),
    ] as [([UInt8], UInt64)])
func lengthBeyondInputIsRefusedBeforeAllocating(input: [UInt8], length: UInt64) {
    let error = failure(input)
    #expect(error?.rule == "lengthExceedsInput")
    guard case let .lengthExceedsInput(offset, reported, remaining) = error else { return }
    #expect(offset == 0)
    #expect(reported == length)
    #expect(remaining < input.count)
}

@Test(
    arguments: [
        ([], 0),
        ([0x80, 0x02], 2),  // PROTO only: no STOP
        ([0x80, 0x02, NONE], 3),
        ([0x80, 0x02, 0x4A, 0x01, 0x02], 2),  // BININT with 2 of its 4 bytes
        ([0x63] + ascii("os"), 0),  // GLOBAL without its newline
    ] as [([UInt8], Int)])
func inputEndingEarlyIsTruncated(input: [UInt8], offset: Int) {
    let error = failure(input)
    #expect(error?.rule == "truncated")
    guard case let .truncated(at) = error else { return }
    #expect(at == offset)
}

@Test func operationCapStopsLongRuns() {
    // NONE, POP repeated: the stack stays small, only the operation count grows.
    let input = Array(repeatElement([NONE, POP], count: tinyLimits.maxOperations).joined()) + [NONE, STOP]
    let error = failure(input, limits: tinyLimits)
    #expect(error?.rule == "operationLimit")
    guard case let .operationLimit(offset, limit) = error else { return }
    #expect(limit == tinyLimits.maxOperations)
    #expect(offset == tinyLimits.maxOperations, "the first opcode over budget")
}

@Test func stackCapIsEnforced() {
    let input = [UInt8](repeating: NONE, count: tinyLimits.maxStackDepth + 1) + [STOP]
    #expect(failure(input, limits: tinyLimits)?.rule == "stackLimit")
}

@Test func heapCapIsEnforced() {
    let input = [UInt8](repeating: EMPTY_LIST, count: tinyLimits.maxObjects + 1) + [STOP]
    #expect(failure(input, limits: tinyLimits)?.rule == "objectLimit")
}

@Test(
    arguments: [
        [STOP],  // nothing to return
        [0x74, STOP],  // TUPLE without MARK
        [EMPTY_LIST, APPEND, STOP],  // APPEND with no value
        [NONE, MARK, 0x85, STOP],  // TUPLE1 cannot reach below the MARK
        [POP, STOP],
    ] as [[UInt8]])
func stackUnderflowIsReported(input: [UInt8]) {
    #expect(failure(input)?.rule == "stackUnderflow")
}

@Test(
    arguments: [
        ([0x7D, NONE, APPEND, STOP], "list"),  // APPEND onto a dict
        ([0x7D, MARK, NONE, 0x75, STOP], "key/value pairs"),  // SETITEMS with an odd item count
        ([NONE, 0x29, 0x52, STOP], "global callable"),  // REDUCE on None
        ([MARK, 0x91, MARK, NONE, 0x90, STOP], "set"),  // ADDITEMS onto a frozenset
        ([EMPTY_LIST, NONE, 0x62, STOP], "object that accepts state"),  // BUILD on a list
        ([0x7D, NONE, 0x62, STOP], "object that accepts state"),  // BUILD on a plain dict
    ] as [([UInt8], String)])
func wrongOperandKindIsTypeMismatch(input: [UInt8], expected: String) {
    let error = failure(input)
    #expect(error?.rule == "typeMismatch")
    guard case let .typeMismatch(_, expectedKind, _) = error else { return }
    #expect(expectedKind == expected)
}

@Test func invalidUTF8IsRefused() {
    // SHORT_BINUNICODE of the lone byte 0xFF.
    #expect(failure([0x8C, 0x01, 0xFF, STOP])?.rule == "invalidUTF8")
}

@Test func unknownProtocolIsRefused() {
    let error = failure([0x80, 0x06, NONE, STOP])
    #expect(error?.rule == "invalidProtocol")
    #expect(error?.detail.contains("offset 0") == true)
}

// MARK: Frames and nesting

let FRAME: UInt8 = 0x95, TUPLE1: UInt8 = 0x85

func frame(_ length: UInt64) -> [UInt8] { [FRAME] + withUnsafeBytes(of: length.littleEndian, Array.init) }

@Test func frameMustLieInsideTheInput() {
    let body: [UInt8] = [NONE, STOP]
    #expect(failure([0x80, 0x04] + frame(2) + body) == nil)
    let error = failure([0x80, 0x04] + frame(3) + body)
    guard case let .frameExceedsInput(offset, length, remaining) = error else {
        Issue.record("expected frameExceedsInput, got \(String(describing: error))")
        return
    }
    #expect(offset == 2 && length == 3 && remaining == 2)
}

@Test func frameMayNotStartInsideThePreviousOne() {
    let inner = frame(2) + [NONE, STOP]
    // Consecutive frames are fine; a frame whose first bytes are another FRAME is not.
    #expect(failure([0x80, 0x04] + frame(1) + [NONE] + frame(1) + [STOP]) == nil)
    let error = failure([0x80, 0x04] + frame(UInt64(inner.count)) + inner)
    guard case let .frameOverlap(offset, previousEnd) = error else {
        Issue.record("expected frameOverlap, got \(String(describing: error))")
        return
    }
    #expect(offset == 11 && previousEnd == 11 + inner.count)
}

/// Nesting is counted in containers from the root: an empty list in k one-element tuples is k + 1 levels.
@Test func nestingLimitCountsLevels() {
    var limits = PickleLimits.standard
    limits.maxNestingDepth = 5
    let nested = { (tuples: Int) in [0x80, 0x02, EMPTY_LIST] + [UInt8](repeating: TUPLE1, count: tuples) + [STOP] }
    #expect(failure(nested(4), limits: limits) == nil)
    #expect(failure(nested(5), limits: limits)?.rule == "nestingLimit")
}

/// A list that contains itself (the memo allows it; torch never writes it) is one level, not infinite.
@Test func selfContainingListIsNotInfinitelyDeep() throws {
    let input: [UInt8] = [0x80, 0x02, EMPTY_LIST, BINPUT, 0, BINGET, 0, APPEND, STOP]
    let result = try runPickle(input)
    #expect(result.list(result.root)?.count == 1)
}
