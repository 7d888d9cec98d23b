extension PickleInterpreter {
    /// Module names Python 3 writes for protocols < 3 and maps back when loading. Neither exists in
    /// Python 3, so they are mapped whatever the protocol.
    static let python2Modules = ["__builtin__": "builtins", "copy_reg": "copyreg"]

    /// Builtins whose calls the machine evaluates itself instead of recording a `.call`.
    static let evaluatedBuiltins: Set<String> = [
        "collections.OrderedDict", "builtins.set", "builtins.frozenset", "builtins.bytearray", "_codecs.encode",
    ]

    /// GLOBAL/STACK_GLOBAL: asks the policy (once per distinct global) and pushes a `.global`.
    mutating func resolveGlobal(module: String, name: String) throws(PickleError) -> PickleValue {
        let global = PickleGlobal(module: Self.python2Modules[module] ?? module, name: name)
        let decision = decisions[global] ?? policy(global.module, global.name)
        if decision == .forbid {
            throw .forbiddenGlobal(offset: opcodeOffset, global: global.qualifiedName)
        }
        decisions[global] = decision
        return try allocate(.global(global))
    }

    /// REDUCE (`callable(*arguments)`), NEWOBJ and NEWOBJ_EX (`callable.__new__(callable, *arguments)`,
    /// flagged by `newObject`). Nothing is ever called: the result is an opaque placeholder, a
    /// recorded `.call`, or, for the few builtins in `evaluatedBuiltins`, the value they build.
    mutating func call(_ callable: PickleValue, _ arguments: PickleValue, newObject: Bool) throws(PickleError) -> PickleValue {
        guard case let .ref(ref) = callable, case let .global(function) = heap[ref.index] else {
            throw mismatch(expected: "global callable", found: callable)
        }
        guard case let .ref(argumentsRef) = arguments, case let .tuple(items) = heap[argumentsRef.index] else {
            throw mismatch(expected: "argument tuple", found: arguments)
        }
        guard decisions[function] == .interpret else {
            return try allocate(.opaque(typeName: function.qualifiedName))
        }
        let name = function.qualifiedName
        guard Self.evaluatedBuiltins.contains(name) else {
            return try allocate(.call(function: function, arguments: arguments))
        }
        // `__new__` of these builtins ignores its arguments (and _codecs.encode is no class).
        // Python never writes NEWOBJ for them, so only the unambiguous empty form is accepted.
        if newObject && (!items.isEmpty || name == "_codecs.encode") {
            throw .typeMismatch(
                offset: opcodeOffset, expected: "REDUCE of \(name)",
                found: "NEWOBJ with \(items.count) arguments")
        }
        switch name {
        case "collections.OrderedDict": return try orderedDict(items)
        case "builtins.bytearray": return try bytearray(items)
        case "_codecs.encode": return try encode(items)
        default: return try set(items, frozen: name == "builtins.frozenset")
        }
    }

    /// BUILD sets an object's state. The machine keeps data only, so state is dropped for the
    /// objects that take it in honest checkpoints: OrderedDict (a state_dict's `_metadata`),
    /// recorded calls (numpy dtypes, tensor subclasses) and opaque instances. Anything else
    /// refuses state in Python too (a plain dict has no `__dict__`).
    mutating func build(_ target: PickleValue, state: PickleValue) throws(PickleError) {
        if case let .ref(ref) = target {
            switch heap[ref.index] {
            case let .dict(typeName, _) where typeName != "dict": return
            case .call, .opaque: return
            default: break
            }
        }
        throw mismatch(expected: "object that accepts state", found: target)
    }

    // MARK: Evaluated builtins

    /// The items of a tuple, list or set, charged as work because they are copied.
    mutating func elements(of value: PickleValue) throws(PickleError) -> [PickleValue]? {
        guard case let .ref(ref) = value else { return nil }
        let items: [PickleValue]
        switch heap[ref.index] {
        case let .tuple(values), let .list(values), let .set(_, values): items = values
        default: return nil
        }
        try charge(items.count)
        return items
    }

    /// `OrderedDict()`, `OrderedDict(pairs)` or `OrderedDict(dict)`.
    mutating func orderedDict(_ arguments: [PickleValue]) throws(PickleError) -> PickleValue {
        var entries: [PickleDictEntry] = []
        if let source = arguments.first {
            guard arguments.count == 1 else { throw mismatch(expected: "one OrderedDict argument", found: arguments[1]) }
            if case let .ref(ref) = source, case let .dict(_, sourceEntries) = heap[ref.index] {
                try charge(sourceEntries.count)
                entries = sourceEntries
            } else {
                guard let pairs = try elements(of: source) else { throw mismatch(expected: "pairs", found: source) }
                entries.reserveCapacity(pairs.count)
                for pair in pairs {
                    guard let keyAndValue = try elements(of: pair), keyAndValue.count == 2 else {
                        throw mismatch(expected: "key/value pair", found: pair)
                    }
                    entries.append(PickleDictEntry(key: keyAndValue[0], value: keyAndValue[1]))
                }
            }
        }
        return try allocate(.dict(typeName: "collections.OrderedDict", entries: entries))
    }

    /// `set()`, `set(iterable)`, and the same for `frozenset`.
    mutating func set(_ arguments: [PickleValue], frozen: Bool) throws(PickleError) -> PickleValue {
        var items: [PickleValue] = []
        if let source = arguments.first {
            guard arguments.count == 1, let values = try elements(of: source) else {
                throw mismatch(expected: "one tuple, list or set", found: source)
            }
            items = values
        }
        return try allocate(.set(frozen: frozen, items: items))
    }

    /// `bytearray()` or `bytearray(bytes)` (protocols < 5 pickle a bytearray as
    /// `bytearray(_codecs.encode(text, 'latin1'))` or `bytearray(b'...')`).
    func bytearray(_ arguments: [PickleValue]) throws(PickleError) -> PickleValue {
        switch arguments.count {
        case 0: return .bytes([])
        case 1:
            guard case let .bytes(bytes) = arguments[0] else { throw mismatch(expected: "bytes", found: arguments[0]) }
            return .bytes(bytes)
        default: throw mismatch(expected: "at most one bytearray argument", found: arguments[1])
        }
    }

    /// `_codecs.encode(text, encoding)`: how protocols < 3 pickle Python 3 `bytes`, as latin-1 text.
    mutating func encode(_ arguments: [PickleValue]) throws(PickleError) -> PickleValue {
        guard (1...2).contains(arguments.count), case let .string(text) = arguments[0] else {
            throw .typeMismatch(offset: opcodeOffset, expected: "(str, encoding)", found: "\(arguments.count) arguments")
        }
        var encoding = "utf-8"
        if arguments.count == 2 {
            guard case let .string(name) = arguments[1] else { throw mismatch(expected: "encoding name", found: arguments[1]) }
            encoding = name.lowercased()
        }
        try charge(text.utf8.count)
        switch encoding {
        case "latin1", "latin-1", "iso-8859-1", "iso8859-1":
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.unicodeScalars.count)
            for scalar in text.unicodeScalars {
                guard scalar.value <= 0xFF else {
                    throw .typeMismatch(offset: opcodeOffset, expected: "latin-1 text", found: "U+\(String(scalar.value, radix: 16))")
                }
                bytes.append(UInt8(scalar.value))
            }
            return .bytes(bytes)
        case "utf-8", "utf8":
            return .bytes(Array(text.utf8))
        default:
            throw .typeMismatch(offset: opcodeOffset, expected: "latin1 or utf-8", found: "encoding \(encoding)")
        }
    }
}
