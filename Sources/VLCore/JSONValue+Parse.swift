extension JSONValue {
    /// Parses one strict RFC 8259 document.
    ///
    /// Refused: invalid UTF-8 anywhere (including a BOM, which RFC 8259 lets parsers refuse),
    /// duplicate keys in any object, nesting deeper than `maxDepth` arrays/objects, leading zeros,
    /// `+1`, `.5`, `1.`, `NaN`/`Infinity`, numbers beyond the range of `Double`, raw control
    /// characters in strings, unknown escapes, lone or mismatched UTF-16 surrogates, and anything
    /// but whitespace (space, tab, CR, LF) after the value. Trailing whitespace is allowed, which
    /// covers safetensors headers padded with spaces.
    ///
    /// Keys are compared as Swift `String`s, i.e. by Unicode canonical equivalence: two keys that
    /// differ only in normalization count as duplicates. That is stricter than a byte comparison
    /// and keeps Swift code from ever seeing two members it cannot tell apart.
    ///
    /// Cost: O(n) time; the parser is iterative (an explicit stack), so native stack use does not
    /// grow with nesting. Memory is proportional to the document.
    ///
    /// Keep `maxDepth` modest: the parser does not recurse, but Swift destroys (and `==` compares)
    /// nested values recursively, using a few hundred bytes of stack per level in debug builds. The
    /// default of 128 is safe on any thread.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 128) throws(JSONError) -> JSONValue {
        if let bad = UTF8Check.firstInvalidOffset(bytes) { throw .invalidUTF8(offset: bad) }
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses the UTF-8 of `text`; see `parse(_:maxDepth:)`.
    public static func parse(_ text: String, maxDepth: Int = 128) throws(JSONError) -> JSONValue {
        var copy = text
        // `withUTF8` is `rethrows` (untyped), so the typed error travels out in a `Result`.
        let result = copy.withUTF8 { buffer in
            Result { () throws(JSONError) -> JSONValue in try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth) }
        }
        return try result.get()
    }
}

/// UTF-8 well-formedness per Unicode §3.9 table 3-7: no overlong forms, no surrogates, nothing above
/// U+10FFFF, no truncated sequences.
public enum UTF8Check {
    /// Offset of the first byte of the first ill-formed sequence, or `nil` when `bytes` is valid.
    /// Cost: O(n), one pass, no allocation.
    public static func firstInvalidOffset(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        var i = 0
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            // Allowed range of the second byte and the number of continuation bytes after it.
            let (lo, hi, extra): (UInt8, UInt8, Int)
            switch b0 {
            case 0xC2...0xDF: (lo, hi, extra) = (0x80, 0xBF, 0)
            case 0xE0: (lo, hi, extra) = (0xA0, 0xBF, 1)
            case 0xE1...0xEC, 0xEE...0xEF: (lo, hi, extra) = (0x80, 0xBF, 1)
            case 0xED: (lo, hi, extra) = (0x80, 0x9F, 1)
            case 0xF0: (lo, hi, extra) = (0x90, 0xBF, 2)
            case 0xF1...0xF3: (lo, hi, extra) = (0x80, 0xBF, 2)
            case 0xF4: (lo, hi, extra) = (0x80, 0x8F, 2)
            default: return i
            }
            guard i + 1 + extra < n else { return i }
            guard bytes[i + 1] >= lo, bytes[i + 1] <= hi else { return i }
            for k in 0..<extra where bytes[i + 2 + k] & 0xC0 != 0x80 {
                return i
            }
            i += 2 + extra
        }
        return nil
    }
}

/// The parser state. Containers being filled live on `stack`; a finished value is handed to the
/// innermost container, so nesting costs heap, never native stack.
private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var pos = 0

    /// An array or object being filled. Kept as a struct mutated in place through the stack's
    /// subscript, so appending never copies the partial container.
    private struct Container {
        let isObject: Bool
        var elements: [JSONValue] = []
        var members: [(key: String, value: JSONValue)] = []
        /// Detects duplicate keys in O(1) per member.
        var keys = Set<String>()
        /// The key whose value is being parsed.
        var pendingKey = ""
    }

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        var stack: [Container] = []
        while true {
            // Expecting a value: either a scalar, or the start of a container.
            skipWhitespace()
            var value: JSONValue
            guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
            switch bytes[pos] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard stack.count < maxDepth else { throw .nestingTooDeep(offset: pos, limit: maxDepth) }
                let isObject = bytes[pos] == UInt8(ascii: "{")
                pos += 1
                skipWhitespace()
                if consume(isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    value = isObject ? .object([]) : .array([])
                } else {
                    var container = Container(isObject: isObject)
                    if isObject { container.pendingKey = try parseKey(into: &container.keys) }
                    stack.append(container)
                    continue
                }
            case UInt8(ascii: "\""):
                value = .string(try parseString())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())
            default:
                throw unexpected()
            }

            // A value is complete: attach it to its container; close containers as long as the
            // input says so.
            while true {
                guard !stack.isEmpty else {
                    skipWhitespace()
                    guard pos == bytes.count else { throw .trailingCharacters(offset: pos) }
                    return value
                }
                let top = stack.count - 1
                let isObject = stack[top].isObject
                if isObject {
                    stack[top].members.append((key: stack[top].pendingKey, value: value))
                } else {
                    stack[top].elements.append(value)
                }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) {
                    if isObject {
                        skipWhitespace()
                        stack[top].pendingKey = try parseKey(into: &stack[top].keys)
                    }
                    break
                }
                guard consume(isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { throw unexpected() }
                let done = stack.removeLast()
                value = isObject ? .object(done.members) : .array(done.elements)
            }
        }
    }

    // MARK: Tokens

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard pos < bytes.count, bytes[pos] == byte else { return false }
        pos += 1
        return true
    }

    /// The error for the byte at `pos` (or the end of input).
    private func unexpected() -> JSONError {
        guard pos < bytes.count else { return .unexpectedEnd(offset: pos) }
        let b = bytes[pos]
        let found = (0x21...0x7E).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
        return .unexpectedCharacter(offset: pos, found: found)
    }

    private mutating func expectLiteral(_ word: StaticString) throws(JSONError) {
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for b in w {
            guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
            guard bytes[pos] == b else { throw unexpected() }
            pos += 1
        }
    }

    /// A member key followed by `:`, checked against the keys already in the object.
    private mutating func parseKey(into keys: inout Set<String>) throws(JSONError) -> String {
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw unexpected() }
        let start = pos
        let key = try parseString()
        guard keys.insert(key).inserted else { throw .duplicateKey(key: key, offset: start) }
        skipWhitespace()
        guard consume(UInt8(ascii: ":")) else { throw unexpected() }
        return key
    }

    /// A string starting at the opening quote. The input was validated as UTF-8 up front, so raw
    /// bytes are copied as they are; escapes are decoded and re-encoded.
    private mutating func parseString() throws(JSONError) -> String {
        pos += 1  // opening quote
        var out: [UInt8] = []
        while true {
            // Copy the run of bytes that need no attention in one go.
            let runStart = pos
            while pos < bytes.count {
                let b = bytes[pos]
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
                pos += 1
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<pos]))
            guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw .invalidEscape(offset: pos) }
            try parseEscape(into: &out)
        }
    }

    /// One escape sequence starting at the backslash.
    private mutating func parseEscape(into out: inout [UInt8]) throws(JSONError) {
        let start = pos
        pos += 1
        guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
        let c = bytes[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var code = UInt32(try parseHex4(escapeStart: start))
            if (0xDC00...0xDFFF).contains(code) { throw .invalidEscape(offset: start) }
            if (0xD800...0xDBFF).contains(code) {
                // A high surrogate must be followed immediately by an escaped low surrogate.
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u")
                else { throw .invalidEscape(offset: start) }
                let lowStart = pos
                pos += 2
                let low = UInt32(try parseHex4(escapeStart: lowStart))
                guard (0xDC00...0xDFFF).contains(low) else { throw .invalidEscape(offset: lowStart) }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            // Surrogates were handled above, so this is always a valid scalar.
            out.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
        default:
            throw .invalidEscape(offset: start)
        }
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONError) -> UInt16 {
        var v: UInt16 = 0
        for _ in 0..<4 {
            guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
            let b = bytes[pos]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw .invalidEscape(offset: escapeStart)
            }
            v = v << 4 | UInt16(digit)
            pos += 1
        }
        return v
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Integers that fit `Int64` stay exact.
    private mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = pos
        _ = consume(UInt8(ascii: "-"))
        guard pos < bytes.count, isDigit(bytes[pos]) else { throw .invalidNumber(offset: start) }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, isDigit(bytes[pos]) { throw .invalidNumber(offset: start) }
        } else {
            skipDigits()
        }
        var isInteger = true
        if consume(UInt8(ascii: ".")) {
            isInteger = false
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw .invalidNumber(offset: start) }
            skipDigits()
        }
        if pos < bytes.count, bytes[pos] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw .invalidNumber(offset: start) }
            skipDigits()
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        // `-0` is kept as a double so that the sign survives a round trip.
        if isInteger, text != "-0", let v = Int64(text) { return .int(v) }
        guard let d = Double(text), d.isFinite else { throw .numberOutOfRange(offset: start) }
        return .double(d)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
    }
}
