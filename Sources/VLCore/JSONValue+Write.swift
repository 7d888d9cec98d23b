extension JSONValue {
    /// The document as JSON text.
    ///
    /// - Object members keep their order.
    /// - Integers are written without a decimal point; doubles use Swift's shortest representation
    ///   that parses back to the same value (`0.1`, `1e-05`, `5.0`), so `parse(serialized())`
    ///   round-trips. Non-finite doubles have no JSON spelling and are written as `null`.
    /// - Strings escape `"`, `\` and U+0000–U+001F (the short forms where JSON has them); all other
    ///   characters are written as UTF-8.
    /// - `pretty`: two-space indentation, one member or element per line, `"key": value`. Empty
    ///   containers stay `[]` / `{}`.
    ///
    /// Cost: O(size of the output). Iterative, so deeply nested values cannot exhaust the stack.
    public func serialized(pretty: Bool = false) -> String {
        var writer = JSONWriter(pretty: pretty)
        writer.write(self)
        return String(decoding: writer.out, as: UTF8.self)
    }
}

private struct JSONWriter {
    let pretty: Bool
    var out: [UInt8] = []

    /// An open container: its children, and the index of the next one to write.
    private enum Frame {
        case array([JSONValue], next: Int)
        case object([(key: String, value: JSONValue)], next: Int)
    }

    init(pretty: Bool) { self.pretty = pretty }

    mutating func write(_ root: JSONValue) {
        var stack: [Frame] = []
        var pending: JSONValue? = root
        while true {
            if let value = pending {
                pending = nil
                switch value {
                case .null: append("null")
                case let .bool(b): append(b ? "true" : "false")
                case let .number(.int(v)): append(String(v))
                case let .number(.double(v)): append(v.isFinite ? v.description : "null")
                case let .string(s): writeString(s)
                case let .array(elements):
                    if elements.isEmpty {
                        append("[]")
                    } else {
                        append("[")
                        stack.append(.array(elements, next: 0))
                    }
                case let .object(members):
                    if members.isEmpty {
                        append("{}")
                    } else {
                        append("{")
                        stack.append(.object(members, next: 0))
                    }
                }
            }
            // Pick the next child of the innermost container, closing finished containers.
            guard let frame = stack.popLast() else { return }
            switch frame {
            case let .array(elements, next):
                if next < elements.count {
                    separator(first: next == 0, depth: stack.count + 1)
                    stack.append(.array(elements, next: next + 1))
                    pending = elements[next]
                } else {
                    newline(depth: stack.count)
                    append("]")
                }
            case let .object(members, next):
                if next < members.count {
                    separator(first: next == 0, depth: stack.count + 1)
                    writeString(members[next].key)
                    append(pretty ? ": " : ":")
                    stack.append(.object(members, next: next + 1))
                    pending = members[next].value
                } else {
                    newline(depth: stack.count)
                    append("}")
                }
            }
        }
    }

    private mutating func append(_ text: String) { out.append(contentsOf: text.utf8) }

    private mutating func separator(first: Bool, depth: Int) {
        if !first { out.append(UInt8(ascii: ",")) }
        newline(depth: depth)
    }

    private mutating func newline(depth: Int) {
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    private mutating func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x08: append("\\b")
            case 0x0C: append("\\f")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0..<0x20:
                let hex = String(b, radix: 16)
                append("\\u00" + (hex.count == 1 ? "0" + hex : hex))
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
