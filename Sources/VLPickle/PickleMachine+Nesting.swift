import VLCore

extension PickleInterpreter {
    /// Refuses a result whose containers nest deeper than `limits.maxNestingDepth`.
    ///
    /// The depth is the longest chain of references from `root` through containers (tuple, list,
    /// dict keys and values, set, call arguments, persistent ids). Measured over the finished heap,
    /// not while building it: the memo lets a container grow after it was put inside another, so
    /// depths recorded at creation would be stale. A reference back to a container still being
    /// measured (a cycle, which the memo also allows) adds nothing.
    ///
    /// Cost: O(heap objects + references), iterative (an explicit stack, never Swift recursion).
    func checkNesting(from root: PickleValue) throws(PickleError) {
        guard case let .ref(rootRef) = root else { return }
        let limit = limits.maxNestingDepth
        // 0 = not yet reached, -1 = on the current path, > 0 = finished, its height in levels.
        var height = [Int32](repeating: 0, count: heap.count)
        // (object, its children, next child to visit, tallest child so far)
        var path: [(index: Int, children: [Int], next: Int, tallest: Int32)] = []
        height[rootRef.index] = -1
        path.append((rootRef.index, Self.children(of: heap[rootRef.index]), 0, 0))
        while !path.isEmpty {
            let top = path.count - 1
            if path[top].next < path[top].children.count {
                let child = path[top].children[path[top].next]
                path[top].next += 1
                switch height[child] {
                case -1:
                    continue
                case 0:
                    guard path.count < limit else { throw .nestingLimit(offset: opcodeOffset, limit: limit) }
                    height[child] = -1
                    path.append((child, Self.children(of: heap[child]), 0, 0))
                default:
                    path[top].tallest = max(path[top].tallest, height[child])
                }
                continue
            }
            let finished = path.removeLast()
            let own = finished.tallest + 1
            guard own <= limit else { throw .nestingLimit(offset: opcodeOffset, limit: limit) }
            height[finished.index] = own
            if let parent = path.indices.last { path[parent].tallest = max(path[parent].tallest, own) }
        }
    }

    /// Heap indices an object refers to directly.
    private static func children(of object: PickleObject) -> [Int] {
        func refs(_ values: [PickleValue]) -> [Int] { values.compactMap { if case let .ref(r) = $0 { r.index } else { nil } } }
        switch object {
        case let .tuple(items), let .list(items), let .set(_, items): return refs(items)
        case let .dict(_, entries): return refs(entries.flatMap { [$0.key, $0.value] })
        case let .call(_, arguments): return refs([arguments])
        case let .persistent(id): return refs([id])
        case .global, .opaque: return []
        }
    }
}
