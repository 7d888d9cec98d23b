import VLCore

extension PickleInterpreter {
    /// Executes opcodes until STOP. One loop iteration per opcode; no opcode recurses.
    mutating func run() throws(PickleError) -> PickleResult {
        while true {
            opcodeOffset = cursor.position
            try charge(1)
            let byte = try read(UInt8.self)
            guard let opcode = PickleOpcode(rawValue: byte) else {
                if let name = PickleOpcode.refused[byte] {
                    throw .forbiddenOpcode(offset: opcodeOffset, opcode: byte, name: name)
                }
                throw .unknownOpcode(offset: opcodeOffset, opcode: byte)
            }
            if let result = try execute(opcode) { return result }
        }
    }

    /// Executes one opcode; returns the result at STOP and `nil` otherwise.
    mutating func execute(_ opcode: PickleOpcode) throws(PickleError) -> PickleResult? {
        switch opcode {
        case .stop:
            let root = try pop()
            try checkNesting(from: root)
            let globals = Set(decisions.keys.map(\.qualifiedName)).sorted()
            return PickleResult(heap: heap, root: root, globals: globals, endOffset: cursor.position)

        // Framing and control.
        case .proto:
            let version = try read(UInt8.self)
            guard version <= 5 else { throw .invalidProtocol(offset: opcodeOffset, version: version) }
        case .frame:
            // Frames only help buffered readers, but a frame must lie inside the input and must not
            // start inside the previous one: a length that lies about the stream is a malformed file.
            guard cursor.position >= frameEnd else {
                throw .frameOverlap(offset: opcodeOffset, previousFrameEnd: frameEnd)
            }
            let length = try read(UInt64.self)
            guard length <= UInt64(cursor.remaining) else {
                throw .frameExceedsInput(offset: opcodeOffset, length: length, remaining: cursor.remaining)
            }
            frameEnd = cursor.position + Int(length)
        case .mark:
            try pushMark()
        case .pop:
            // CPython: an empty frame means the top item is a MARK, which POP discards.
            if stack.count > frameBase {
                stack.removeLast()
            } else if marks.popLast() == nil {
                throw .stackUnderflow(offset: opcodeOffset)
            }
        case .popMark:
            _ = try popMark()
        case .dup:
            try push(try top())

        // Globals, calls, persistent ids.
        case .global:
            let module = try readLine()
            let name = try readLine()
            try push(try resolveGlobal(module: module, name: name))
        case .stackGlobal:
            let name = try pop(), module = try pop()
            guard case let .string(moduleText) = module else { throw mismatch(expected: "module name", found: module) }
            guard case let .string(nameText) = name else { throw mismatch(expected: "global name", found: name) }
            try push(try resolveGlobal(module: moduleText, name: nameText))
        case .reduce:
            let arguments = try pop(), callable = try pop()
            try push(try call(callable, arguments, newObject: false))
        case .newObj:
            let arguments = try pop(), callable = try pop()
            try push(try call(callable, arguments, newObject: true))
        case .newObjEx:
            let keywords = try pop(), arguments = try pop(), callable = try pop()
            // Keyword arguments cannot be recorded in a `.call`; honest pickles send none here.
            guard case let .ref(ref) = keywords, case let .dict(_, entries) = heap[ref.index], entries.isEmpty else {
                throw mismatch(expected: "empty keyword dict", found: keywords)
            }
            try push(try call(callable, arguments, newObject: true))
        case .build:
            let state = try pop()
            try build(try top(), state: state)
        case .binPersId:
            let id = try pop()
            try push(try allocate(.persistent(id)))

        // Containers.
        case .emptyTuple:
            try push(try allocate(.tuple([])))
        case .tuple:
            let items = try popMark()
            try push(try allocate(.tuple(items)))
        case .tuple1, .tuple2, .tuple3:
            let items = try pop(Int(opcode.rawValue - PickleOpcode.tuple1.rawValue) + 1)
            try push(try allocate(.tuple(items)))
        case .emptyList:
            try push(try allocate(.list([])))
        case .list:
            let items = try popMark()
            try push(try allocate(.list(items)))
        case .append:
            let value = try pop()
            try appendToList(try top(), [value])
        case .appends:
            let items = try popMark()
            try appendToList(try top(), items)
        case .emptyDict:
            try push(try allocate(.dict(typeName: "dict", entries: [])))
        case .dict:
            let items = try popMark()
            let dict = try allocate(.dict(typeName: "dict", entries: []))
            try setItems(dict, items)
            try push(dict)
        case .setItem:
            let value = try pop(), key = try pop()
            try setItems(try top(), [key, value])
        case .setItems:
            let items = try popMark()
            try setItems(try top(), items)
        case .emptySet:
            try push(try allocate(.set(frozen: false, items: [])))
        case .addItems:
            let items = try popMark()
            try addToSet(try top(), items)
        case .frozenSet:
            let items = try popMark()
            try push(try allocate(.set(frozen: true, items: items)))

        // Scalars.
        case .none:
            try push(.none)
        case .newTrue:
            try push(.bool(true))
        case .newFalse:
            try push(.bool(false))
        case .binInt:
            try push(.int(Int64(try read(Int32.self))))
        case .binInt1:
            try push(.int(Int64(try read(UInt8.self))))
        case .binInt2:
            try push(.int(Int64(try read(UInt16.self))))
        case .long1:
            let length = try read(UInt8.self)
            try push(long(try readPayload(UInt64(length))))
        case .long4:
            try push(long(try readSignedPayload()))
        case .binFloat:
            try push(.float(Double(bitPattern: try readBigEndian(UInt64.self))))
        case .shortBinUnicode:
            let length = try read(UInt8.self)
            try push(.string(try utf8(try readPayload(UInt64(length)))))
        case .binUnicode:
            let length = try read(UInt32.self)
            try push(.string(try utf8(try readPayload(UInt64(length)))))
        case .binUnicode8:
            let length = try read(UInt64.self)
            try push(.string(try utf8(try readPayload(length))))
        case .shortBinString:
            let length = try read(UInt8.self)
            try push(.string(latin1(try readPayload(UInt64(length)))))
        case .binString:
            try push(.string(latin1(try readSignedPayload())))
        case .shortBinBytes:
            let length = try read(UInt8.self)
            try push(.bytes(Array(try readPayload(UInt64(length)))))
        case .binBytes:
            let length = try read(UInt32.self)
            try push(.bytes(Array(try readPayload(UInt64(length)))))
        case .binBytes8, .byteArray8:
            let length = try read(UInt64.self)
            try push(.bytes(Array(try readPayload(length))))

        // Memo.
        case .binGet:
            try memoGet(Int(try read(UInt8.self)))
        case .longBinGet:
            try memoGet(Int(try read(UInt32.self)))
        case .binPut:
            try memoPut(Int(try read(UInt8.self)))
        case .longBinPut:
            try memoPut(Int(try read(UInt32.self)))
        case .memoize:
            try memoPut(memo.count)
        }
        return nil
    }
}
