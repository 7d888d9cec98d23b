import Testing
import VLPickle

/// One object pickled by CPython with each binary protocol:
///
///     obj = {'a': [1, -2, 300, 70000, 3.5, 'héllo', b'\x00\xff', None, True, False,
///                  2**70, -2**70, (1, 2)], 's': {7}}
///     pickle.dumps(obj, protocol=N).hex()
struct ProtocolVector: Sendable, CustomTestStringConvertible {
    let proto: Int
    let hex: String
    /// The globals each protocol needs: `bytes` goes through `_codecs.encode` before protocol 3,
    /// and sets through `builtins.set` (written `__builtin__`) before protocol 4's EMPTY_SET.
    let globals: [String]
    var testDescription: String { "protocol \(proto)" }
}

let protocolVectors = [
    ProtocolVector(
        proto: 2,
        hex: """
            80027d71002858010000006171015d7102284b014afeffffff4d2c014a7011010047400c000000000000580600000068c3a96c6c6f7103635f636f646563730a
            656e636f64650a7104580300000000c3bf710558060000006c6174696e3171068671075271084e88898a090000000000000000408a090000000000000000c04b01
            4b0286710965580100000073710a635f5f6275696c74696e5f5f0a7365740a710b5d710c4b076185710d52710e752e
            """, globals: ["_codecs.encode", "builtins.set"]),
    ProtocolVector(
        proto: 3,
        hex: """
            80037d71002858010000006171015d7102284b014afeffffff4d2c014a7011010047400c000000000000580600000068c3a96c6c6f7103430200ff71044e8889
            8a090000000000000000408a090000000000000000c04b014b02867105655801000000737106636275696c74696e730a7365740a71075d71084b076185710952
            710a752e
            """, globals: ["builtins.set"]),
    ProtocolVector(
        proto: 4,
        hex: """
            8004955c000000000000007d94288c0161945d94284b014afeffffff4d2c014a7011010047400c0000000000008c0668c3a96c6c6f94430200ff944e88898a09
            0000000000000000408a090000000000000000c04b014b028694658c0173948f94284b0790752e
            """, globals: []),
    ProtocolVector(
        proto: 5,
        hex: """
            8005955c000000000000007d94288c0161945d94284b014afeffffff4d2c014a7011010047400c0000000000008c0668c3a96c6c6f94430200ff944e88898a09
            0000000000000000408a090000000000000000c04b014b028694658c0173948f94284b0790752e
            """, globals: []),
]

@Test(arguments: protocolVectors)
func decodesEveryScalarAndContainer(_ vector: ProtocolVector) throws {
    let input = bytes(hex: vector.hex)
    let result = try runPickle(input)

    let root = try #require(result.dict(result.root))
    #expect(root.typeName == "dict")
    #expect(root.entries.map(\.key) == [.string("a"), .string("s")])

    let a = try #require(result.list(root.entries[0].value))
    try #require(a.count == 13)
    let twoToThe70: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0x40]  // little-endian two's complement
    let minusTwoToThe70: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0xC0]
    #expect(
        Array(a[0..<12]) == [
            .int(1), .int(-2), .int(300), .int(70000), .float(3.5), .string("héllo"), .bytes([0x00, 0xFF]),
            .none, .bool(true), .bool(false), .bigInt(twoToThe70), .bigInt(minusTwoToThe70),
        ])
    #expect(result.tuple(a[12]) == [.int(1), .int(2)])

    guard case let .set(frozen, items) = result.object(root.entries[1].value) else {
        Issue.record("'s' is not a set")
        return
    }
    #expect(!frozen)
    #expect(items == [.int(7)])

    #expect(result.globals == vector.globals)
    #expect(result.endOffset == input.count)
}

/// `pickle.dumps(1, protocol=2) + pickle.dumps('x', protocol=2)`: legacy torch files stack pickles.
@Test func runsBackToBackPicklesFromEndOffset() throws {
    let input = bytes(hex: "80024b012e800258010000007871002e")
    let first = try runPickle(input)
    #expect(first.root == .int(1))
    #expect(first.endOffset == 5)
    let second = try runPickle(input, startingAt: first.endOffset)
    #expect(second.root == .string("x"))
    #expect(second.endOffset == input.count)
}

/// Small cases CPython writes with dedicated opcodes or builtins:
/// `frozenset([1])` (protocol 4, FROZENSET), `bytearray(b'ab')` with protocol 2
/// (`bytearray(_codecs.encode('ab', 'latin1'))`) and protocol 5 (BYTEARRAY8).
@Test(arguments: [
    ("8004950600000000000000284b0191942e", "frozenset"),
    (
        """
        8002635f5f6275696c74696e5f5f0a6279746561727261790a7100635f636f646563730a656e636f64650a710158020000006162710258060000006c6174696e31
        71038671045271058571065271072e
        """, "bytearray"
    ),
    ("8005950d000000000000009602000000000000006162942e", "bytearray"),
])
func decodesBuiltinsWrittenByCPython(hex: String, kind: String) throws {
    let result = try runPickle(bytes(hex: hex))
    switch kind {
    case "frozenset":
        guard case let .set(frozen, items) = result.object(result.root) else {
            Issue.record("not a set")
            return
        }
        #expect(frozen)
        #expect(items == [.int(1)])
    default:
        #expect(result.root == .bytes(Array("ab".utf8)))
    }
}

/// LONG1 with redundant sign bytes still decodes to the canonical `.int`; 0 bytes means 0.
@Test(
    arguments: [
        ([0x8A, 0x00], PickleValue.int(0)),
        ([0x8A, 0x01, 0xFF], .int(-1)),
        ([0x8A, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00], .int(Int64.max)),
        ([0x8A, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80], .int(Int64.min)),
        ([0x8A, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00], .bigInt([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00])),
    ] as [([UInt8], PickleValue)])
func decodesLongIntegers(opcodes: [UInt8], expected: PickleValue) throws {
    let result = try runPickle([0x80, 0x02] + opcodes + [0x2E])
    #expect(result.root == expected)
}
