import VLCore
import VLPickle

/// A storage as a checkpoint format resolves a persistent id: where its bytes are and, for typed
/// storages, their element type (`nil` for `torch.UntypedStorage`, whose tensors carry a dtype).
struct ResolvedStorage {
    let dtype: DType?
    let location: StorageLocation
}

/// Turns an unpickled object graph into tensor entries and a list of skipped objects.
///
/// Rule (matches `Fixtures/generate.py`): the root container is always descended; below it a
/// dict/list/tuple is descended only if it transitively holds a tensor; any other value is reported
/// once, at its dotted key path, as skipped. A container reached a second time through a shared
/// reference is not descended again (reported as `shared reference`), so the walk is linear in the
/// heap. It is iterative and budgeted; nesting depth is already bounded by the pickle machine
/// (`PickleLimits.maxNestingDepth`).
struct TorchObjectGraph {
    static let maxVisits = 10_000_000

    let result: PickleResult
    let resolve: (PickleValue, String) throws -> ResolvedStorage

    func contents() throws -> (entries: [TensorEntry], skipped: [SkippedObject]) {
        let holdsTensor = markContainersHoldingTensors()
        var entries: [TensorEntry] = []
        var skipped: [SkippedObject] = []
        var rebuild = TensorRebuild(result: result, resolve: resolve)
        var visits = 0
        var descended = Set<Int>()
        // (value, path components, is root)
        var stack: [(PickleValue, [String], Bool)] = [(result.root, [], true)]
        while let (value, path, isRoot) = stack.popLast() {
            visits += 1
            guard visits <= Self.maxVisits else { throw TorchError.graphTooLarge(limit: Self.maxVisits) }
            let name = path.joined(separator: ".")
            if case let .ref(ref) = value {
                if case let .call(function, arguments) = result[ref], TensorRebuild.isTensorFunction(function) {
                    if let entry = try rebuild.entry(function: function, arguments: arguments, name: name, depth: 0) {
                        entries.append(entry)
                    } else {
                        skipped.append(SkippedObject(path: name, type: "torch.Tensor"))
                    }
                    continue
                }
                if isRoot || holdsTensor[ref.index] {
                    // Each container is descended once: a second reference (memo sharing) would
                    // repeat its tensors under another name, and nested sharing grows exponentially.
                    if children(of: result[ref]) != nil, !descended.insert(ref.index).inserted {
                        skipped.append(SkippedObject(path: name, type: "shared reference"))
                        continue
                    }
                    if let children = children(of: result[ref]) {
                        for (key, child) in children.reversed() { stack.append((child, path + [key], false)) }
                        continue
                    }
                }
            }
            skipped.append(SkippedObject(path: name, type: typeName(of: value)))
        }
        return (entries, skipped)
    }

    /// Children of a descendable container with their path components, in order.
    private func children(of object: PickleObject) -> [(String, PickleValue)]? {
        switch object {
        case let .tuple(items), let .list(items):
            items.enumerated().map { ("\($0.offset)", $0.element) }
        case let .dict(_, entries):
            entries.map { (keyComponent($0.key), $0.value) }
        default:
            nil
        }
    }

    /// Reverse reachability: start from every tensor object and walk parent edges up through
    /// containers. O(heap size + edges), no recursion.
    private func markContainersHoldingTensors() -> [Bool] {
        let heap = result.heap
        var parents = [[Int]](repeating: [], count: heap.count)
        var marked = [Bool](repeating: false, count: heap.count)
        var queue: [Int] = []
        for (i, object) in heap.enumerated() {
            switch object {
            case let .call(function, _) where TensorRebuild.isTensorFunction(function):
                marked[i] = true
                queue.append(i)
            case let .tuple(items), let .list(items):
                for case let .ref(child) in items { parents[child.index].append(i) }
            case let .dict(_, entries):
                for entry in entries { if case let .ref(child) = entry.value { parents[child.index].append(i) } }
            default:
                break
            }
        }
        while let i = queue.popLast() {
            for p in parents[i] where !marked[p] {
                marked[p] = true
                queue.append(p)
            }
        }
        return marked
    }

    private func keyComponent(_ key: PickleValue) -> String {
        switch key {
        case let .string(s): s
        case let .int(n): "\(n)"
        case let .bool(b): b ? "True" : "False"
        case .none: "None"
        case let .float(f): "\(f)"
        default: "<\(typeName(of: key))>"
        }
    }

    /// Python's name for the type of a skipped value.
    func typeName(of value: PickleValue) -> String {
        switch value {
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case let .ref(ref):
            switch result[ref] {
            case .tuple: return "tuple"
            case .list: return "list"
            case let .dict(typeName, _): return typeName
            case let .set(frozen, _): return frozen ? "frozenset" : "set"
            case .global: return "type"
            case let .call(function, _): return function.qualifiedName
            case let .opaque(typeName): return typeName
            case .persistent: return "torch.storage.TypedStorage"
            }
        }
    }
}
