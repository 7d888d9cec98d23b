import VLCore
import VLPickle

/// Interprets the torch `_rebuild_*` calls recorded by the pickle machine (never executing them):
/// `_rebuild_tensor`, `_rebuild_tensor_v2`, `_rebuild_tensor_v3`, `_rebuild_parameter`,
/// `_rebuild_parameter_with_state` and `torch._tensor._rebuild_from_type_v2`, validating every
/// size, stride and offset against the storage they view.
struct TensorRebuild {
    let result: PickleResult
    let resolve: (PickleValue, String) throws -> ResolvedStorage
    /// Storages resolved so far, by persistent-id key, so shared storages resolve once.
    var storages: [String: ResolvedStorage] = [:]
    /// The element type each storage record has been viewed as so far.
    var viewDTypes: [String: DType] = [:]

    /// `_rebuild_parameter` and `_rebuild_from_type_v2` wrap another rebuild; real files nest once.
    static let maxWrapping = 4

    static let tensorFunctions: Set<String> = [
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "torch._tensor._rebuild_from_type_v2",
        // Recognised as tensors but not read (quantized, sparse, meta, subclass tensors): skipped.
        "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor",
        "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
        "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_nested_tensor",
    ]

    static func isTensorFunction(_ g: PickleGlobal) -> Bool { tensorFunctions.contains(g.qualifiedName) }

    /// The entry for a tensor call, or `nil` for tensor kinds VLPack does not read.
    mutating func entry(function: PickleGlobal, arguments: PickleValue, name: String, depth: Int) throws -> TensorEntry? {
        guard depth <= Self.maxWrapping else { throw TorchError.malformedTensor(path: name, reason: "rebuild calls nested too deeply") }
        let args = try tuple(arguments, name, "arguments")
        switch function.qualifiedName {
        case "torch._utils._rebuild_tensor":
            return try view(args, dtypeOverride: nil, name: name)
        case "torch._utils._rebuild_tensor_v2":
            return try view(args, dtypeOverride: nil, name: name)
        case "torch._utils._rebuild_tensor_v3":
            guard args.count >= 7 else { throw TorchError.malformedTensor(path: name, reason: "_rebuild_tensor_v3 needs 7 arguments") }
            return try view(args, dtypeOverride: try dtype(args[6], name), name: name)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let inner = args.first else { throw TorchError.malformedTensor(path: name, reason: "parameter without data") }
            return try wrapped(inner, name: name, depth: depth)
        case "torch._tensor._rebuild_from_type_v2":
            // (func, new_type, args, state): the tensor is func(*args).
            guard args.count >= 3, case let .ref(f) = args[0], case let .global(inner) = result[f] else {
                throw TorchError.malformedTensor(path: name, reason: "_rebuild_from_type_v2 without a function")
            }
            guard Self.isTensorFunction(inner) else { return nil }
            return try entry(function: inner, arguments: args[2], name: name, depth: depth + 1)
        default:
            return nil
        }
    }

    private mutating func wrapped(_ value: PickleValue, name: String, depth: Int) throws -> TensorEntry? {
        guard case let .ref(r) = value, case let .call(function, arguments) = result[r], Self.isTensorFunction(function) else {
            throw TorchError.malformedTensor(path: name, reason: "parameter data is not a tensor")
        }
        return try entry(function: function, arguments: arguments, name: name, depth: depth + 1)
    }

    /// (storage, storage_offset, size, stride, ...) → a validated view.
    private mutating func view(_ args: [PickleValue], dtypeOverride: DType?, name: String) throws -> TensorEntry {
        guard args.count >= 4 else { throw TorchError.malformedTensor(path: name, reason: "rebuild needs storage, offset, size, stride") }
        guard case let .ref(s) = args[0], case let .persistent(pid) = result[s] else {
            throw TorchError.malformedTensor(path: name, reason: "first argument is not a storage reference")
        }
        let storage = try storageFor(pid, name)
        guard case let .int(offset64) = args[1], let offset = Int(exactly: offset64), offset >= 0 else {
            throw TorchError.malformedTensor(path: name, reason: "storage offset is not a non-negative integer")
        }
        let shape = try ints(args[2], name, "size")
        let strides = try ints(args[3], name, "stride")
        guard shape.count == strides.count else {
            throw TorchError.malformedTensor(path: name, reason: "size has \(shape.count) dims but stride has \(strides.count)")
        }
        guard let dtype = dtypeOverride ?? storage.dtype else {
            throw TorchError.malformedTensor(path: name, reason: "untyped storage without a dtype")
        }
        // An untyped storage takes its element type from each tensor; all of them must agree.
        let storageKey = storage.location.key
        if let first = viewDTypes[storageKey], first != dtype {
            throw TorchError.storageKeyConflict(
                key: storageKey, first: "\(first.rawValue) (by an earlier tensor)",
                second: "\(dtype.rawValue) (by '\(name)')")
        }
        viewDTypes[storageKey] = dtype
        guard Checked.byteCount(shape, itemSize: dtype.byteSize) != nil else {
            throw TorchError.malformedTensor(path: name, reason: "shape \(shape) overflows")
        }
        let storageElements = storage.location.byteCount / dtype.byteSize
        guard TensorEntry.viewSpan(shape: shape, strides: strides, offset: offset, storageElements: storageElements) != nil else {
            throw TorchError.viewOutOfBounds(tensor: name, offset: offset, shape: shape, strides: strides, storageElements: storageElements)
        }
        return TensorEntry(name: name, dtype: dtype, shape: shape, strides: strides, storageOffset: offset, storage: storage.location)
    }

    private mutating func storageFor(_ pid: PickleValue, _ name: String) throws -> ResolvedStorage {
        let key = storageKey(pid)
        if let key, let known = storages[key] { return known }
        let resolved = try resolve(pid, name)
        if let key { storages[key] = resolved }
        return resolved
    }

    /// The key of a `('storage', type, key, ...)` persistent id, used only for caching.
    private func storageKey(_ pid: PickleValue) -> String? {
        guard case let .ref(r) = pid, case let .tuple(items) = result[r], items.count >= 3, case let .string(key) = items[2] else { return nil }
        if items.count >= 6, case .ref = items[5] { return nil }  // legacy storage view: resolved per use
        return key
    }

    private func tuple(_ v: PickleValue, _ name: String, _ what: String) throws -> [PickleValue] {
        guard case let .ref(r) = v else { throw TorchError.malformedTensor(path: name, reason: "\(what) is not a tuple") }
        switch result[r] {
        case let .tuple(items), let .list(items): return items
        case let .call(function, arguments) where function.qualifiedName == "torch.Size":
            // torch.Size((2, 3)) – unwrap the single tuple argument.
            let inner = try tuple(arguments, name, what)
            guard let first = inner.first else { return [] }
            return try tuple(first, name, what)
        default: throw TorchError.malformedTensor(path: name, reason: "\(what) is not a tuple")
        }
    }

    private func ints(_ v: PickleValue, _ name: String, _ what: String) throws -> [Int] {
        try tuple(v, name, what).map { item in
            guard case let .int(n) = item, let i = Int(exactly: n), i >= 0 else {
                throw TorchError.malformedTensor(path: name, reason: "\(what) holds a value that is not a non-negative integer")
            }
            return i
        }
    }

    private func dtype(_ v: PickleValue, _ name: String) throws -> DType {
        guard case let .ref(r) = v, case let .global(g) = result[r], g.module == "torch", let d = TorchDTypes.byName[g.name] else {
            throw TorchError.malformedTensor(path: name, reason: "unsupported dtype argument")
        }
        return d
    }
}

/// Names torch uses in pickles for element types.
enum TorchDTypes {
    /// `torch.<Name>Storage` classes (legacy typed storages).
    static let byStorageClass: [String: DType] = [
        "DoubleStorage": .f64, "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    /// `torch.<dtype>` globals (used by `_rebuild_tensor_v3`).
    static let byName: [String: DType] = [
        "float64": .f64, "double": .f64, "float32": .f32, "float": .f32, "float16": .f16, "half": .f16,
        "bfloat16": .bf16, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32, "int16": .i16, "short": .i16,
        "int8": .i8, "uint8": .u8, "bool": .bool, "uint16": .u16, "uint32": .u32, "uint64": .u64,
        "float8_e4m3fn": .f8e4m3, "float8_e5m2": .f8e5m2,
    ]
}
