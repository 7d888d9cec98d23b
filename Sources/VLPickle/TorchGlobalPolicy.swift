/// The default global policy: torch's `weights_only` allowlist, a blocklist of modules that can run
/// code, and "opaque" for everything else.
///
/// The machine never imports or calls anything whatever this says; the decision only chooses
/// between recording a call for the torch layer (`.interpret`), keeping an inert placeholder
/// (`.opaque`), and refusing the whole file (`.forbid`) because no honest checkpoint names it.
/// Cost: a few set lookups on short strings per GLOBAL.
public enum TorchGlobalPolicy {
    public static func decide(module: String, name: String) -> GlobalDecision {
        if isAllowlisted(module: module, name: name) { return .interpret }
        let root = module.split(separator: ".", maxSplits: 1).first.map(String.init) ?? module
        if forbiddenRoots.contains(root) {
            // Plain builtin types show up as arguments of copyreg._reconstructor in protocol 0/1
            // pickles of ordinary objects; naming a type runs nothing.
            if root == "builtins" && inertBuiltinTypes.contains(name) { return .opaque }
            return .forbid
        }
        return .opaque
    }

    static func isAllowlisted(module: String, name: String) -> Bool {
        switch module {
        case "torch":
            return torchNames.contains(name) || dtypeNames.contains(name)
                || storageNames.contains(name) || tensorClassNames.contains(name)
        case "torch.cuda":
            // Legacy (pre-zip) checkpoints name CUDA storages and tensor types this way.
            return storageNames.contains(name) || tensorClassNames.contains(name)
        default:
            return qualifiedNames.contains("\(module).\(name)")
        }
    }

    /// Data-only constructors and rebuild functions, by `module.name`.
    static let qualifiedNames: Set<String> = [
        "collections.OrderedDict", "collections.Counter",
        "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.complex",
        "_codecs.encode",
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor",
        "torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_cpu_tensor",
        "torch._utils._rebuild_device_tensor_from_numpy",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter", "torch.serialization._get_layout",
        // Current torch writes untyped storages (float8 and other new dtypes) under their own module.
        "torch.storage.UntypedStorage",
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        "numpy.ndarray", "numpy.dtype",
    ]

    static let torchNames: Set<String> = [
        "Size", "device", "Tensor",
        "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
        "per_channel_affine_float_qparams",
    ]

    /// `torch.dtype` pickles as its canonical name in module `torch`.
    static let dtypeNames: Set<String> = [
        "float64", "float32", "float16", "bfloat16", "complex32", "complex64", "complex128",
        "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "bool",
        "quint8", "qint8", "qint32", "quint4x2", "quint2x4",
        "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
        "float4_e2m1fn_x2", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
        "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
        "int1", "int2", "int3", "int4", "int5", "int6", "int7",
    ]

    static let storageNames: Set<String> = [
        "DoubleStorage", "FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
        "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "UntypedStorage",
        "ComplexDoubleStorage", "ComplexFloatStorage",
        "QInt8Storage", "QInt32Storage", "QUInt8Storage", "QUInt4x2Storage", "QUInt2x4Storage",
    ]

    /// Legacy tensor types (`torch.FloatTensor`, ...), which old pickles use as plain type tags.
    static let tensorClassNames: Set<String> = [
        "DoubleTensor", "FloatTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
        "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor",
    ]

    static let inertBuiltinTypes: Set<String> = [
        "object", "dict", "list", "tuple", "int", "float", "str", "bytes", "bool",
    ]

    /// Top-level modules whose names can run code, import, unpickle again, or reach files,
    /// processes or the network. A submodule is forbidden with its root (`os.path`), and `torch`/
    /// `numpy` names outside the allowlist above are forbidden (`torch.load`, `numpy.load`, ...).
    static let forbiddenRoots: Set<String> = [
        "os", "posix", "nt", "posixpath", "ntpath", "sys", "subprocess", "_posixsubprocess",
        "importlib", "zipimport", "pkgutil", "pydoc", "runpy", "site",
        "builtins", "__builtin__", "code", "codeop", "types", "inspect", "operator", "_operator",
        "functools", "_functools", "pickle", "_pickle", "cPickle", "marshal", "shelve", "dill",
        "joblib", "cloudpickle", "ctypes", "_ctypes",
        "shutil", "tempfile", "pathlib", "io", "_io", "codecs", "_codecs", "glob",
        "socket", "ssl", "select", "urllib", "urllib2", "http", "httplib", "ftplib", "smtplib",
        "requests", "webbrowser",
        "pty", "pdb", "bdb", "trace", "timeit", "profile", "cProfile", "commands",
        "multiprocessing", "threading", "_thread", "asyncio", "signal",
        "fickling", "picklescan", "modelscan",
        "torch", "numpy",
    ]
}
