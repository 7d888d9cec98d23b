import Testing
import VLCore

private func parse(_ text: String, maxDepth: Int = 128) throws(JSONError) -> JSONValue {
    try JSONValue.parse(text, maxDepth: maxDepth)
}

private func parseBytes(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
    let result = bytes.withUnsafeBytes { buffer in
        Result { () throws(JSONError) -> JSONValue in try JSONValue.parse(buffer) }
    }
    return try result.get()
}

private func rule(of body: () throws(JSONError) -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return error.rule
    }
}

@Suite struct JSONParseTests {
    @Test func scalarsAndContainers() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("\"a\"") == .string("a"))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([]))
        #expect(try parse(#"[1, [2, {"a": []}], {}]"#) == [1, [2, ["a": []]], [:]])
    }

    @Test func objectKeyOrderIsKept() throws {
        let v = try parse(#"{"z": 1, "a": 2, "m": 3}"#)
        #expect(v.objectEntries?.map(\.key) == ["z", "a", "m"])
        #expect(v[key: "a"]?.int == 2)
        #expect(v[key: "missing"] == nil)
    }

    @Test func integersStayExact() throws {
        #expect(try parse("9223372036854775807") == .number(.int(Int64.max)))
        #expect(try parse("-9223372036854775808") == .number(.int(Int64.min)))
        #expect(try parse("9007199254740993").int == 9_007_199_254_740_993)
        // Beyond Int64: a double, and not an `int`.
        let big = try parse("9223372036854775808")
        #expect(big == .number(.double(9_223_372_036_854_775_808.0)))
        #expect(big.int == nil)
        #expect(try parse("0") == .number(.int(0)))
        #expect(try parse("-0") == .number(.double(-0.0)))
    }

    @Test func doubles() throws {
        #expect(try parse("1.5") == .number(.double(1.5)))
        #expect(try parse("3.0").int == nil)
        #expect(try parse("3e0") == .number(.double(3)))
        #expect(try parse("-2.5E-3") == .number(.double(-0.0025)))
        #expect(try parse("1E+2").double == 100)
        #expect(try parse("0.1").double == 0.1)
    }

    @Test func stringEscapes() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""\u00e9\u0041""#) == .string("éA"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try parse("\"日本 😀\"") == .string("日本 😀"))
    }

    @Test func trailingWhitespaceIncludingPaddingIsAllowed() throws {
        #expect(try parse("{\"a\":1}" + String(repeating: " ", count: 61)) == ["a": 1])
        #expect(try parse(" \t\r\n[1]\n\t ") == [1])
    }

    @Test func duplicateKeyNamesTheKey() {
        #expect(throws: JSONError.duplicateKey(key: "b", offset: 17)) { try parse(#"{"b": 1, "x": 3, "b": 4}"#) }
        #expect(throws: JSONError.duplicateKey(key: "k", offset: 28)) {
            try parse(#"[{"k": 1}, {"k": 2, "j": 3, "k": 4}]"#)
        }
    }

    @Test func canonicallyEquivalentKeysAreDuplicates() {
        #expect(rule { () throws(JSONError) in _ = try parse("{\"\u{e9}\": 1, \"e\u{301}\": 2}") } == "duplicateKey")
    }

    @Test func nestingLimit() throws {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try parse(ok).array != nil)
        let deep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: JSONError.nestingTooDeep(offset: 128, limit: 128)) { try parse(deep) }
        #expect(throws: JSONError.nestingTooDeep(offset: 6, limit: 2)) { try parse(#"{"a":[{}]}"#, maxDepth: 2) }
    }

    @Test func hugeNestingDoesNotRecurse() {
        // Far beyond any native stack if the parser recursed.
        let deep = String(repeating: "[", count: 200_000)
        #expect(rule { () throws(JSONError) in _ = try parse(deep, maxDepth: .max) } == "unexpectedEnd")
    }

    @Test func invalidUTF8() {
        #expect(throws: JSONError.invalidUTF8(offset: 2)) { try parseBytes([0x22, 0x61, 0xFF, 0x22]) }
        // Overlong "/", a UTF-8-encoded surrogate, a truncated sequence, above U+10FFFF.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]] {
            #expect(throws: JSONError.invalidUTF8(offset: 1)) { try parseBytes([0x22] + bad + [0x22]) }
        }
        // A byte-order mark is refused, not skipped.
        #expect(rule { () throws(JSONError) in _ = try parseBytes([0xEF, 0xBB, 0xBF, 0x31]) } == "unexpectedCharacter")
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        let text: String
        let rule: String
        var testDescription: String { "\(rule): \(text)" }
    }

    static let invalidDocuments: [Invalid] = [
        .init(text: "", rule: "unexpectedEnd"),
        .init(text: "   ", rule: "unexpectedEnd"),
        .init(text: "[1, 2", rule: "unexpectedEnd"),
        .init(text: "{\"a\":", rule: "unexpectedEnd"),
        .init(text: "\"abc", rule: "unexpectedEnd"),
        .init(text: "tru", rule: "unexpectedEnd"),
        .init(text: "[1,]", rule: "unexpectedCharacter"),
        .init(text: "[,1]", rule: "unexpectedCharacter"),
        .init(text: "{\"a\" 1}", rule: "unexpectedCharacter"),
        .init(text: "{\"a\":1,}", rule: "unexpectedCharacter"),
        .init(text: "{a:1}", rule: "unexpectedCharacter"),
        .init(text: "{'a':1}", rule: "unexpectedCharacter"),
        .init(text: "[1 2]", rule: "unexpectedCharacter"),
        .init(text: "[1}", rule: "unexpectedCharacter"),
        .init(text: "nul", rule: "unexpectedEnd"),
        .init(text: "nulL", rule: "unexpectedCharacter"),
        .init(text: "True", rule: "unexpectedCharacter"),
        .init(text: "NaN", rule: "unexpectedCharacter"),
        .init(text: "Infinity", rule: "unexpectedCharacter"),
        .init(text: "+1", rule: "unexpectedCharacter"),
        .init(text: ".5", rule: "unexpectedCharacter"),
        .init(text: "\u{0}", rule: "unexpectedCharacter"),
        .init(text: "{} x", rule: "trailingCharacters"),
        .init(text: "{}{}", rule: "trailingCharacters"),
        .init(text: "1 2", rule: "trailingCharacters"),
        .init(text: "{}\u{0}", rule: "trailingCharacters"),
        .init(text: "[1]\u{b}", rule: "trailingCharacters"),
        .init(text: "01", rule: "invalidNumber"),
        .init(text: "-01", rule: "invalidNumber"),
        .init(text: "00", rule: "invalidNumber"),
        .init(text: "-", rule: "invalidNumber"),
        .init(text: "-a", rule: "invalidNumber"),
        .init(text: "1.", rule: "invalidNumber"),
        .init(text: "1.e5", rule: "invalidNumber"),
        .init(text: "1e", rule: "invalidNumber"),
        .init(text: "1e+", rule: "invalidNumber"),
        .init(text: "1e400", rule: "numberOutOfRange"),
        .init(text: "-1e400", rule: "numberOutOfRange"),
        .init(text: #""\x""#, rule: "invalidEscape"),
        .init(text: #""\u12""#, rule: "invalidEscape"),
        .init(text: #""\u12G4""#, rule: "invalidEscape"),
        .init(text: #""\U0041""#, rule: "invalidEscape"),
        .init(text: #""\ud83d""#, rule: "invalidEscape"),
        .init(text: #""\ud83dx""#, rule: "invalidEscape"),
        .init(text: #""\ud83d\u0041""#, rule: "invalidEscape"),
        .init(text: #""\ude00""#, rule: "invalidEscape"),
        .init(text: "\"a\tb\"", rule: "invalidEscape"),
        .init(text: "\"a\nb\"", rule: "invalidEscape"),
        .init(text: "{\"a\":1,\"a\":2}", rule: "duplicateKey"),
        .init(text: String(repeating: "[", count: 129), rule: "nestingTooDeep"),
    ]

    @Test(arguments: invalidDocuments)
    func invalidDocumentIsRefusedWithRule(_ doc: Invalid) {
        #expect(rule { () throws(JSONError) in _ = try parse(doc.text) } == doc.rule)
    }
}

@Suite struct JSONWriteTests {
    @Test func compactAndPretty() {
        let v: JSONValue = ["b": 1, "a": [true, nil, 2.5], "e": [:], "l": []]
        #expect(v.serialized() == #"{"b":1,"a":[true,null,2.5],"e":{},"l":[]}"#)
        #expect(
            v.serialized(pretty: true) == """
                {
                  "b": 1,
                  "a": [
                    true,
                    null,
                    2.5
                  ],
                  "e": {},
                  "l": []
                }
                """)
    }

    @Test func numbers() {
        #expect(JSONValue(Int.max).serialized() == "9223372036854775807")
        #expect(JSONValue(-3).serialized() == "-3")
        #expect(JSONValue(5.0).serialized() == "5.0")
        #expect(JSONValue(Double.nan).serialized() == "null")
        #expect(JSONValue(-Double.infinity).serialized() == "null")
    }

    @Test(arguments: [0.1, 1e-5, 1e300, -2.2250738585072014e-308, .leastNonzeroMagnitude, 123456789.125, 1.0 / 3.0, -0.0, 1e16])
    func doublesRoundTrip(_ d: Double) throws {
        let text = JSONValue(d).serialized()
        let back = try JSONValue.parse(text).double
        #expect(back == d)
        #expect(back?.sign == d.sign)
    }

    @Test func stringEscaping() throws {
        let s = "q\"b\\s/\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}é😀"
        let text = JSONValue(s).serialized()
        #expect(text == #""q\"b\\s/\u0000\u0001\b\f\n\r\t\u001f"# + "\u{7f}é😀\"")
        #expect(try JSONValue.parse(text) == .string(s))
    }

    @Test func roundTripKeepsStructureAndOrder() throws {
        let text = #"{"z":[1,-2,3.25,"x",{"k":null,"a":false}],"a":{},"\u00e9":"\u0001"}"#
        let v = try JSONValue.parse(text)
        #expect(try JSONValue.parse(v.serialized()) == v)
        #expect(try JSONValue.parse(v.serialized(pretty: true)) == v)
        #expect(v.serialized() == #"{"z":[1,-2,3.25,"x",{"k":null,"a":false}],"a":{},"é":"\u0001"}"#)
    }

    @Test func deepValueRoundTrips() throws {
        // Deep enough to be far past the default limit, shallow enough for Swift's recursive
        // destruction of nested values on a test thread's stack.
        var v: JSONValue = 0
        for _ in 0..<500 { v = .array([v]) }
        let text = v.serialized()
        #expect(text.utf8.count == 1_001)
        #expect(try JSONValue.parse(text, maxDepth: 500) == v)
        #expect(throws: JSONError.nestingTooDeep(offset: 499, limit: 499)) { try JSONValue.parse(text, maxDepth: 499) }
    }
}
