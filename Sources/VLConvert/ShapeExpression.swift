/// Integer expressions used in model maps for shapes and derived config values:
/// `3*width`, `(image_size/patch_size)*(image_size/patch_size)+1`. Identifiers name config values;
/// `/` is integer division (as the Python that built the models). Maps are our own data, but the
/// evaluator still refuses anything malformed instead of guessing.
enum ShapeExpression {
    enum Failure: Error, CustomStringConvertible {
        case syntax(String)
        case unknownName(String)
        case overflow(String)
        var description: String {
            switch self {
            case let .syntax(e): "cannot parse expression '\(e)'"
            case let .unknownName(n): "unknown config value '\(n)'"
            case let .overflow(e): "expression '\(e)' overflows or divides by zero"
            }
        }
    }

    static func evaluate(_ text: String, _ values: [String: Int]) throws(Failure) -> Int {
        var parser = Parser(chars: Array(text), text: text, values: values)
        let v = try parser.sum()
        parser.skipSpaces()
        guard parser.position == parser.chars.count else { throw .syntax(text) }
        return v
    }

    /// Parentheses nest at most this deep: the parser recurses once per level, and a map or
    /// `--config` string is not trusted to be short.
    static let maxNesting = 64

    /// Recursive descent over a map-file string; `depth` bounds the recursion.
    private struct Parser {
        let chars: [Character]
        let text: String
        let values: [String: Int]
        var position = 0
        var depth = 0

        mutating func skipSpaces() { while position < chars.count, chars[position] == " " { position += 1 } }

        mutating func sum() throws(Failure) -> Int {
            var acc = try product()
            while true {
                skipSpaces()
                guard position < chars.count, chars[position] == "+" || chars[position] == "-" else { return acc }
                let op = chars[position]
                position += 1
                let rhs = try product()
                let (r, o) = op == "+" ? acc.addingReportingOverflow(rhs) : acc.subtractingReportingOverflow(rhs)
                guard !o else { throw .overflow(text) }
                acc = r
            }
        }

        mutating func product() throws(Failure) -> Int {
            var acc = try atom()
            while true {
                skipSpaces()
                guard position < chars.count, chars[position] == "*" || chars[position] == "/" else { return acc }
                let op = chars[position]
                position += 1
                let rhs = try atom()
                if op == "*" {
                    let (r, o) = acc.multipliedReportingOverflow(by: rhs)
                    guard !o else { throw .overflow(text) }
                    acc = r
                } else {
                    // Refuses x/0 and Int.min / -1 (the one quotient that does not fit).
                    guard rhs != 0 else { throw .overflow(text) }
                    let (r, o) = acc.dividedReportingOverflow(by: rhs)
                    guard !o else { throw .overflow(text) }
                    acc = r
                }
            }
        }

        mutating func atom() throws(Failure) -> Int {
            skipSpaces()
            guard position < chars.count else { throw .syntax(text) }
            let c = chars[position]
            if c == "(" {
                guard depth < ShapeExpression.maxNesting else { throw .syntax(text) }
                position += 1
                depth += 1
                defer { depth -= 1 }
                let v = try sum()
                skipSpaces()
                guard position < chars.count, chars[position] == ")" else { throw .syntax(text) }
                position += 1
                return v
            }
            if c.isNumber {
                var digits = ""
                while position < chars.count, chars[position].isNumber { digits.append(chars[position]); position += 1 }
                guard let v = Int(digits) else { throw .overflow(text) }
                return v
            }
            if c.isLetter || c == "_" {
                var name = ""
                while position < chars.count, chars[position].isLetter || chars[position].isNumber || chars[position] == "_" {
                    name.append(chars[position])
                    position += 1
                }
                guard let v = values[name] else { throw .unknownName(name) }
                return v
            }
            throw .syntax(text)
        }
    }
}
