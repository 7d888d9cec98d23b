/// A JSON number as parsed or written by VLPack.
///
/// Integer literals (no fraction, no exponent) that fit `Int64` are kept exactly as `.int`; every
/// other number is a `.double`. Sizes and offsets read from files therefore never pass through a
/// `Double` and cannot silently lose precision.
public enum JSONNumber: Sendable, Equatable, Hashable {
    case int(Int64)
    case double(Double)
}

/// A JSON document (RFC 8259).
///
/// Objects are ordered lists of members, so key order survives a parse/serialize round trip and
/// `--json` output is deterministic. A parsed object never holds two equal keys (the parser refuses
/// them); an object built in code may, and `subscript(key:)` then returns the first.
///
/// Values are plain data: copying is O(1) (copy-on-write arrays), comparing is O(size).
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])
}

extension JSONValue: Equatable {
    /// Structural equality; object members are compared in order (key order is part of the value).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` of an object (the first, if a built value repeats it); `nil` for a
    /// missing key or a non-object. O(members).
    public subscript(key key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Element `index` of an array; `nil` when out of range or not an array.
    public subscript(index index: Int) -> JSONValue? {
        guard case let .array(elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The value of an exact integer literal that fits `Int`; `nil` for doubles (even `3.0`), so a
    /// size written as `3.5` or `3e0` is not quietly accepted as an integer.
    public var int: Int? {
        guard case let .number(.int(v)) = self else { return nil }
        return Int(exactly: v)
    }

    /// Any number as a `Double` (integers beyond 2^53 round).
    public var double: Double? {
        switch self {
        case let .number(.int(v)): Double(v)
        case let .number(.double(v)): v
        default: nil
        }
    }

    public var bool: Bool? {
        guard case let .bool(v) = self else { return nil }
        return v
    }

    public var string: String? {
        guard case let .string(v) = self else { return nil }
        return v
    }

    public var array: [JSONValue]? {
        guard case let .array(v) = self else { return nil }
        return v
    }

    /// The members of an object, in document order.
    public var objectEntries: [(key: String, value: JSONValue)]? {
        guard case let .object(v) = self else { return nil }
        return v
    }
}

// MARK: - Literals (for building `--json` output in code)

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .number(.int(value)) }
    public init(floatLiteral value: Double) { self = .number(.double(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Keeps the literal's order, which a Swift `Dictionary` would not.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }

    /// An integer value; `Int` is 64-bit on every platform VLPack supports.
    public init(_ value: Int) { self = .number(.int(Int64(value))) }
    public init(_ value: Double) { self = .number(.double(value)) }
    public init(_ value: String) { self = .string(value) }
    public init(_ value: Bool) { self = .bool(value) }
}

// MARK: - Errors

/// Why a document was refused. Offsets are byte offsets into the parsed buffer.
public enum JSONError: RuleError, Equatable {
    case unexpectedEnd(offset: Int)
    case unexpectedCharacter(offset: Int, found: String)
    /// A complete value was followed by something other than whitespace.
    case trailingCharacters(offset: Int)
    case invalidUTF8(offset: Int)
    case invalidNumber(offset: Int)
    /// A syntactically valid number that a `Double` cannot hold (e.g. `1e400`).
    case numberOutOfRange(offset: Int)
    /// A bad `\` escape, a lone or mismatched surrogate, or a raw control character in a string.
    case invalidEscape(offset: Int)
    case nestingTooDeep(offset: Int, limit: Int)
    /// Offset of the second occurrence of the key.
    case duplicateKey(key: String, offset: Int)

    /// The byte offset the error refers to.
    public var offset: Int {
        switch self {
        case let .unexpectedEnd(o), let .unexpectedCharacter(o, _), let .trailingCharacters(o),
            let .invalidUTF8(o), let .invalidNumber(o), let .numberOutOfRange(o), let .invalidEscape(o),
            let .nestingTooDeep(o, _), let .duplicateKey(_, o):
            o
        }
    }

    public var detail: String {
        switch self {
        case let .unexpectedEnd(o): "document ends at offset \(o) inside a value"
        case let .unexpectedCharacter(o, found): "unexpected \(found) at offset \(o)"
        case let .trailingCharacters(o): "data after the end of the document at offset \(o)"
        case let .invalidUTF8(o): "invalid UTF-8 at offset \(o)"
        case let .invalidNumber(o): "malformed number at offset \(o)"
        case let .numberOutOfRange(o): "number at offset \(o) is out of range for a double"
        case let .invalidEscape(o): "invalid escape, surrogate or control character in string at offset \(o)"
        case let .nestingTooDeep(o, limit): "arrays/objects nested deeper than \(limit) at offset \(o)"
        case let .duplicateKey(key, o): "duplicate key \(JSONValue.string(key).serialized()) at offset \(o)"
        }
    }
}
