import VLCore

/// A closed pickle interpreter: it executes the binary opcodes of protocols 0–5 into a flat heap
/// of `PickleObject`s and never imports or calls anything.
///
/// Globals go through `policy`: forbidden ones fail the run at once, allowlisted ones become
/// recorded calls (`.call`) except for the few builtins the machine evaluates itself
/// (`collections.OrderedDict`, `builtins.set`/`frozenset`/`bytearray`, `_codecs.encode`), and
/// everything else becomes an inert `.opaque` placeholder.
///
/// Cost: one pass over the input, O(input + operations) time. Every resource is capped by
/// `limits`; memo reads share values by reference, so memo "bombs" cost nothing. Nothing recurses
/// on input-controlled depth, neither while running nor when the result is freed.
public struct PickleMachine: Sendable {
    public let limits: PickleLimits
    public let policy: @Sendable (String, String) -> GlobalDecision

    /// `policy` receives `(module, name)` of every GLOBAL/STACK_GLOBAL.
    public init(
        limits: PickleLimits = .standard,
        policy: @escaping @Sendable (String, String) -> GlobalDecision = TorchGlobalPolicy.decide
    ) {
        self.limits = limits
        self.policy = policy
    }

    /// Runs the pickle that starts at `offset` in `bytes` up to its STOP. Bytes after STOP are
    /// not read (`endOffset` says where the next pickle would start). Error offsets are offsets in
    /// `bytes`, not relative to `offset`.
    public func run(_ bytes: UnsafeRawBufferPointer, startingAt offset: Int = 0) throws(PickleError) -> PickleResult {
        guard offset >= 0, offset <= bytes.count else { throw .truncated(offset: offset) }
        var interpreter = PickleInterpreter(bytes: bytes, position: offset, limits: limits, policy: policy)
        return try interpreter.run()
    }
}

/// The mutable state of one run. The stack is one array; `marks` holds the stack heights at
/// which MARKs were pushed, and opcodes may only pop values above the innermost mark (as in
/// CPython, where a MARK starts a fresh stack).
struct PickleInterpreter {
    var cursor: ByteCursor
    let limits: PickleLimits
    let policy: @Sendable (String, String) -> GlobalDecision

    /// Offset of the opcode being executed, for errors.
    var opcodeOffset = 0
    /// Where the current protocol-4 frame ends (0 before the first FRAME).
    var frameEnd = 0
    var operations = 0
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    var heap: [PickleObject] = []
    /// Every global seen and what the policy said, so a call need not ask again.
    var decisions: [PickleGlobal: GlobalDecision] = [:]

    init(
        bytes: UnsafeRawBufferPointer, position: Int, limits: PickleLimits,
        policy: @escaping @Sendable (String, String) -> GlobalDecision
    ) {
        self.cursor = ByteCursor(bytes, position: position)
        self.limits = limits
        self.policy = policy
    }

    // MARK: Budget

    /// Charges `n` operations against `limits.maxOperations`.
    mutating func charge(_ n: Int) throws(PickleError) {
        operations += n
        guard operations <= limits.maxOperations else {
            throw .operationLimit(offset: opcodeOffset, limit: limits.maxOperations)
        }
    }

    // MARK: Stack

    /// Lowest stack index the current opcode may pop.
    var frameBase: Int { marks.last ?? 0 }

    mutating func push(_ value: PickleValue) throws(PickleError) {
        guard stack.count < limits.maxStackDepth else {
            throw .stackLimit(offset: opcodeOffset, limit: limits.maxStackDepth)
        }
        stack.append(value)
    }

    mutating func pop() throws(PickleError) -> PickleValue {
        guard stack.count > frameBase else { throw .stackUnderflow(offset: opcodeOffset) }
        return stack.removeLast()
    }

    func top() throws(PickleError) -> PickleValue {
        guard stack.count > frameBase else { throw .stackUnderflow(offset: opcodeOffset) }
        return stack[stack.count - 1]
    }

    /// The top `n` values, oldest first.
    mutating func pop(_ n: Int) throws(PickleError) -> [PickleValue] {
        guard stack.count - frameBase >= n else { throw .stackUnderflow(offset: opcodeOffset) }
        let values = Array(stack[(stack.count - n)...])
        stack.removeLast(n)
        return values
    }

    mutating func pushMark() throws(PickleError) {
        guard marks.count < limits.maxMarkDepth else {
            throw .markLimit(offset: opcodeOffset, limit: limits.maxMarkDepth)
        }
        marks.append(stack.count)
    }

    /// Removes the innermost MARK and returns the values pushed since, oldest first.
    mutating func popMark() throws(PickleError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw .stackUnderflow(offset: opcodeOffset) }
        let values = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return values
    }

    // MARK: Heap

    mutating func allocate(_ object: PickleObject) throws(PickleError) -> PickleValue {
        guard heap.count < limits.maxObjects else {
            throw .objectLimit(offset: opcodeOffset, limit: limits.maxObjects)
        }
        heap.append(object)
        return .ref(PickleRef(index: heap.count - 1))
    }

    /// A short name for the kind of `value`, for `typeMismatch`.
    func describe(_ value: PickleValue) -> String {
        switch value {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case let .ref(ref):
            switch heap[ref.index] {
            case .tuple: "tuple"
            case .list: "list"
            case let .dict(typeName, _): typeName
            case let .set(frozen, _): frozen ? "frozenset" : "set"
            case let .global(global): "global \(global.qualifiedName)"
            case let .call(function, _): "result of \(function.qualifiedName)"
            case let .opaque(typeName): "opaque \(typeName)"
            case .persistent: "persistent id"
            }
        }
    }

    func mismatch(expected: String, found value: PickleValue) -> PickleError {
        .typeMismatch(offset: opcodeOffset, expected: expected, found: describe(value))
    }

    // The three mutators below empty the heap slot before changing the container so that its
    // array is uniquely referenced: appending then costs O(1) instead of copying the array.

    mutating func appendToList(_ target: PickleValue, _ values: [PickleValue]) throws(PickleError) {
        guard case let .ref(ref) = target, case .list(var items) = heap[ref.index] else {
            throw mismatch(expected: "list", found: target)
        }
        heap[ref.index] = .tuple([])
        items.append(contentsOf: values)
        heap[ref.index] = .list(items)
    }

    /// Adds `keysAndValues` (alternating) to a dict. Keys are not merged: a repeated key stays as
    /// a second entry, so consumers can notice and refuse duplicates.
    mutating func setItems(_ target: PickleValue, _ keysAndValues: [PickleValue]) throws(PickleError) {
        guard case let .ref(ref) = target, case .dict(let typeName, var entries) = heap[ref.index] else {
            throw mismatch(expected: "dict", found: target)
        }
        guard keysAndValues.count % 2 == 0 else {
            throw .typeMismatch(
                offset: opcodeOffset, expected: "key/value pairs",
                found: "\(keysAndValues.count) items")
        }
        heap[ref.index] = .tuple([])
        for i in stride(from: 0, to: keysAndValues.count, by: 2) {
            entries.append(PickleDictEntry(key: keysAndValues[i], value: keysAndValues[i + 1]))
        }
        heap[ref.index] = .dict(typeName: typeName, entries: entries)
    }

    mutating func addToSet(_ target: PickleValue, _ values: [PickleValue]) throws(PickleError) {
        guard case let .ref(ref) = target, case .set(false, var items) = heap[ref.index] else {
            throw mismatch(expected: "set", found: target)
        }
        heap[ref.index] = .tuple([])
        items.append(contentsOf: values)
        heap[ref.index] = .set(frozen: false, items: items)
    }

    // MARK: Memo

    mutating func memoPut(_ index: Int) throws(PickleError) {
        guard index < limits.maxMemoEntries else {
            throw .memoLimit(offset: opcodeOffset, index: index, limit: limits.maxMemoEntries)
        }
        memo[index] = try top()
    }

    mutating func memoGet(_ index: Int) throws(PickleError) {
        guard let value = memo[index] else { throw .memoMissing(offset: opcodeOffset, index: index) }
        try push(value)
    }

    // MARK: Input

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(PickleError) -> T {
        do { return try cursor.readInteger(T.self) } catch { throw .truncated(offset: opcodeOffset) }
    }

    mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type = T.self) throws(PickleError) -> T {
        do { return try cursor.readBigEndianInteger(T.self) } catch { throw .truncated(offset: opcodeOffset) }
    }

    /// The next `length` bytes, without copying; the length is checked against the input left.
    mutating func readPayload(_ length: UInt64) throws(PickleError) -> UnsafeRawBufferPointer {
        guard length <= UInt64(cursor.remaining) else {
            throw .lengthExceedsInput(offset: opcodeOffset, length: length, remaining: cursor.remaining)
        }
        do { return try cursor.readBytes(Int(length)) } catch { throw .truncated(offset: opcodeOffset) }
    }

    /// A payload whose length is a signed 32-bit prefix (BINSTRING, LONG4); negative is refused.
    mutating func readSignedPayload() throws(PickleError) -> UnsafeRawBufferPointer {
        let length = try read(Int32.self)
        guard length >= 0 else {
            throw .lengthExceedsInput(
                offset: opcodeOffset, length: UInt64(UInt32(bitPattern: length)),
                remaining: cursor.remaining)
        }
        return try readPayload(UInt64(length))
    }

    /// Bytes up to the next newline, which is consumed (GLOBAL's text arguments).
    mutating func readLine() throws(PickleError) -> String {
        let bytes = cursor.bytes
        guard let end = bytes[cursor.position...].firstIndex(of: 0x0A) else {
            throw .truncated(offset: opcodeOffset)
        }
        let line = try utf8(UnsafeRawBufferPointer(rebasing: bytes[cursor.position..<end]))
        cursor.position = end + 1
        return line
    }

    func utf8(_ bytes: UnsafeRawBufferPointer) throws(PickleError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(offset: opcodeOffset) }
        return text
    }

    /// Python 2 strings (SHORT_BINSTRING, BINSTRING): each byte is one code point.
    func latin1(_ bytes: UnsafeRawBufferPointer) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: bytes.lazy.map { Unicode.Scalar($0) })
        return String(scalars)
    }

    /// LONG1/LONG4 payload: little-endian two's complement. Redundant sign bytes are trimmed so
    /// that every value has one form; up to 8 bytes it becomes `.int`.
    func long(_ bytes: UnsafeRawBufferPointer) -> PickleValue {
        var digits = Array(bytes)
        while digits.count > 1 {
            let top = digits[digits.count - 1], signOfNext = digits[digits.count - 2] & 0x80
            guard (top == 0 && signOfNext == 0) || (top == 0xFF && signOfNext != 0) else { break }
            digits.removeLast()
        }
        guard digits.count <= 8 else { return .bigInt(digits) }
        var bits: UInt64 = 0
        for (i, byte) in digits.enumerated() { bits |= UInt64(byte) << (8 * i) }
        if let last = digits.last, last & 0x80 != 0, digits.count < 8 {
            bits |= ~0 << (8 * digits.count)  // sign-extend
        }
        return .int(Int64(bitPattern: bits))
    }
}
