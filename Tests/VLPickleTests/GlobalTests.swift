import Testing
import VLCore
import VLPickle

/// Pickles that would run code if loaded by Python. Each names its global in the error.
///
///     class R:
///         def __init__(self, f, a): self.f, self.a = f, a
///         def __reduce__(self): return (self.f, self.a)
@Test(arguments: [
    // Hand-built: PROTO 2, GLOBAL 'os system', SHORT_BINUNICODE 'id', TUPLE1, REDUCE, STOP.
    ("8002" + "63" + "6f730a73797374656d0a" + "8c026964" + "85" + "52" + "2e", "os.system", 2),
    // pickle.dumps(R(os.system, ('echo pwned',)), protocol=2): os.system is posix.system.
    ("800263706f7369780a73797374656d0a7100580a0000006563686f2070776e656471018571025271032e", "posix.system", 2),
    // pickle.dumps(R(eval, ('1+1',)), protocol=4): STACK_GLOBAL at offset 29.
    ("8004951f000000000000008c086275696c74696e73948c046576616c9493948c03312b3194859452942e", "builtins.eval", 29),
    // pickle.dumps(R(subprocess.Popen, (['id'],)), protocol=3)
    ("80036373756270726f636573730a506f70656e0a71005d7101580200000069647102618571035271042e", "subprocess.Popen", 2),
    // pickle.dumps(R(torch.storage._load_from_bytes, (b'x',)), protocol=2): a nested unpickle.
    (
        """
        800263746f7263682e73746f726167650a5f6c6f61645f66726f6d5f62797465730a7100635f636f646563730a656e636f64650a7101580100000078710258060000
        006c6174696e3171038671045271058571065271072e
        """, "torch.storage._load_from_bytes", 2
    ),
])
func forbiddenGlobalIsRefused(hex: String, global: String, offset: Int) {
    let error = failure(bytes(hex: hex))
    #expect(error?.rule == "forbiddenGlobal")
    guard case let .forbiddenGlobal(at, name) = error else { return }
    #expect(name == global)
    #expect(at == offset)
}

/// A state_dict: `od = OrderedDict([('w', 1)]); od._metadata = OrderedDict([('', {'version': 1})])`,
/// `pickle.dumps(od, protocol=2)`: GLOBAL, EMPTY_TUPLE, REDUCE, SETITEM, then BUILD with the metadata.
@Test func orderedDictViaReduceAndBuild() throws {
    let result = try runPickle(
        bytes(
            hex: """
                800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000007771024b01737d710358090000005f6d657461646174617104
                680029527105580000000071067d7107580700000076657273696f6e71084b01737373622e
                """))
    let root = try #require(result.dict(result.root))
    #expect(root.typeName == "collections.OrderedDict")
    #expect(root.entries.map(\.key) == [.string("w")])
    #expect(root.entries.map(\.value) == [.int(1)])
    #expect(result.globals == ["collections.OrderedDict"])
}

/// `class Point` in module `geometry` with `pt.x = 1`: protocol 2 writes NEWOBJ + BUILD, protocol 1
/// writes `copyreg._reconstructor(Point, object, None)` (as `copy_reg`/`__builtin__`) + BUILD.
@Test(arguments: [
    (
        "80026367656f6d657472790a506f696e740a7100298171017d710258010000007871034b0173622e",
        "geometry.Point", ["geometry.Point"]
    ),
    (
        """
        63636f70795f7265670a5f7265636f6e7374727563746f720a7100286367656f6d657472790a506f696e740a7101635f5f6275696c74696e5f5f0a6f626a656374
        0a71024e7471035271047d710558010000007871064b0173622e
        """, "copyreg._reconstructor", ["builtins.object", "copyreg._reconstructor", "geometry.Point"]
    ),
])
func customClassBecomesOpaque(hex: String, typeName: String, globals: [String]) throws {
    let result = try runPickle(bytes(hex: hex))
    guard case let .opaque(name) = result.object(result.root) else {
        Issue.record("root is not opaque")
        return
    }
    #expect(name == typeName)
    #expect(result.globals == globals)
}

/// `torch.save({'w': torch.arange(6, dtype=torch.float32).reshape(2, 3)}, buf)`, the `data.pkl` record.
@Test func torchStateDictBecomesRecordedCalls() throws {
    let result = try runPickle(
        bytes(
            hex: """
                80027d7100580100000077710163746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71022828580700000073746f7261676571
                0363746f7263680a466c6f617453746f726167650a71045801000000307105580300000063707571064b06747107514b004b024b038671084b034b01867109
                8963636f6c6c656374696f6e730a4f726465726564446963740a710a2952710b74710c52710d732e
                """))
    let tensor = try #require(result.value(in: result.root, key: "w"))
    guard case let .call(function, arguments) = result.object(tensor) else {
        Issue.record("w is not a recorded call")
        return
    }
    #expect(function.qualifiedName == "torch._utils._rebuild_tensor_v2")
    let args = try #require(result.tuple(arguments))
    try #require(args.count == 6)
    guard case let .persistent(id) = result.object(args[0]) else {
        Issue.record("storage is not a persistent id")
        return
    }
    let storage = try #require(result.tuple(id))
    #expect(storage.count == 5)
    #expect(storage[0] == .string("storage"))
    guard case let .global(storageType) = result.object(storage[1]) else {
        Issue.record("storage type is not a global")
        return
    }
    #expect(storageType.qualifiedName == "torch.FloatStorage")
    #expect(Array(storage[2...]) == [.string("0"), .string("cpu"), .int(6)])
    #expect(args[1] == .int(0))
    #expect(result.tuple(args[2]) == [.int(2), .int(3)])
    #expect(result.tuple(args[3]) == [.int(3), .int(1)])
    #expect(args[4] == .bool(false))
    #expect(result.dict(args[5])?.typeName == "collections.OrderedDict")
    #expect(result.globals == ["collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"])
}

@Test(arguments: [
    ("collections", "OrderedDict", GlobalDecision.interpret),
    ("torch._utils", "_rebuild_tensor_v2", .interpret),
    ("torch", "BFloat16Storage", .interpret),
    ("torch", "float8_e4m3fn", .interpret),
    ("torch.cuda", "HalfStorage", .interpret),
    ("numpy.core.multiarray", "_reconstruct", .interpret),
    ("builtins", "set", .interpret),
    ("copyreg", "_reconstructor", .opaque),
    ("builtins", "object", .opaque),
    ("mymodel.layers", "Block", .opaque),
    ("os.path", "join", .forbid),
    ("importlib.machinery", "SourceFileLoader", .forbid),
    ("builtins", "getattr", .forbid),
    ("__builtin__", "eval", .forbid),
    ("operator", "attrgetter", .forbid),
    ("torch", "load", .forbid),
    ("torch.jit", "load", .forbid),
    ("numpy", "load", .forbid),
    ("numpy.testing._private.utils", "runstring", .forbid),
])
func torchPolicyDecides(module: String, name: String, expected: GlobalDecision) {
    #expect(TorchGlobalPolicy.decide(module: module, name: name) == expected)
}

/// A caller-supplied policy is consulted once per distinct global and can forbid anything.
@Test func customPolicyIsHonoured() {
    let machine = PickleMachine(policy: { module, _ in module == "collections" ? .forbid : .opaque })
    // PROTO 2, GLOBAL 'collections OrderedDict', EMPTY_TUPLE, REDUCE, STOP
    let input = [0x80, 0x02, 0x63] + ascii("collections\nOrderedDict\n") + [0x29, 0x52, 0x2E]
    let error = input.withUnsafeBytes { buffer in
        Result { () throws(PickleError) in try machine.run(buffer) }
    }
    guard case let .failure(error) = error else {
        Issue.record("run succeeded")
        return
    }
    #expect(error.rule == "forbiddenGlobal")
}
