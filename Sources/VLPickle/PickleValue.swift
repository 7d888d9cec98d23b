import VLCore

/// A value produced by the pickle machine. Composite values live in the machine's heap and are
/// referred to by `PickleRef`, so nothing is nested in Swift memory: memo sharing costs nothing,
/// cycles are harmless, and freeing a result never recurses.
public enum PickleValue: Sendable, Hashable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer wider than 64 bits, little-endian two's complement (e.g. the legacy magic number).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case ref(PickleRef)
}

/// Index of an object in `PickleResult.heap`.
public struct PickleRef: Sendable, Hashable {
    public let index: Int
    public init(index: Int) { self.index = index }
}

/// Heap objects. Containers hold `PickleValue`s, which may themselves be refs.
public enum PickleObject: Sendable {
    case tuple([PickleValue])
    case list([PickleValue])
    /// `dict` or `collections.OrderedDict`, insertion-ordered (`typeName` says which). A key set
    /// twice stays as two entries (Python would keep the last value), so consumers can refuse it.
    case dict(typeName: String, entries: [PickleDictEntry])
    /// Items in pickle order; duplicates are not merged (the machine does not hash values).
    case set(frozen: Bool, items: [PickleValue])
    /// A global that passed the policy, not yet called. `decision` is `.interpret` or `.opaque`.
    case global(PickleGlobal)
    /// The result of calling an allowlisted callable that the machine itself does not evaluate
    /// (for example `torch._utils._rebuild_tensor_v2`): the callable and its argument tuple, for the
    /// caller to interpret.
    case call(function: PickleGlobal, arguments: PickleValue)
    /// An instance of, or the result of calling, a global that is not interpreted. Never called;
    /// `typeName` is `module.name` of the class or function.
    case opaque(typeName: String)
    /// A BINPERSID reference; the payload is the persistent id (torch: a `('storage', ...)` tuple).
    case persistent(PickleValue)
}

public struct PickleDictEntry: Sendable {
    public let key: PickleValue
    public let value: PickleValue
    public init(key: PickleValue, value: PickleValue) {
        self.key = key
        self.value = value
    }
}

public struct PickleGlobal: Sendable, Hashable {
    public let module: String
    public let name: String
    public init(module: String, name: String) {
        self.module = module
        self.name = name
    }
    public var qualifiedName: String { "\(module).\(name)" }
}

/// What the policy says about a global (see `TorchGlobalPolicy`).
public enum GlobalDecision: Sendable {
    /// Allowlisted; calls to it are recorded (or evaluated for the few builtins the machine knows).
    case interpret
    /// Unknown class or function: becomes an opaque placeholder, never called.
    case opaque
    /// Can run code, import, unpickle again, or touch files/processes/network: the file is refused.
    case forbid
}

/// Output of one pickle run.
public struct PickleResult: Sendable {
    public let heap: [PickleObject]
    public let root: PickleValue
    /// Every global referenced, `module.name`, sorted and unique.
    public let globals: [String]
    /// Offset just past the STOP opcode (legacy torch files stack several pickles back to back).
    public let endOffset: Int

    public init(heap: [PickleObject], root: PickleValue, globals: [String], endOffset: Int) {
        self.heap = heap
        self.root = root
        self.globals = globals
        self.endOffset = endOffset
    }

    public subscript(ref: PickleRef) -> PickleObject { heap[ref.index] }
}
