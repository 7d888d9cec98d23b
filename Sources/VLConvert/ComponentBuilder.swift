import VLCheckpoint
import VLCore

/// Applies one model map to one input: config assembly, rule matching, shape checks, skips and
/// the completeness check. Produces the component's planned tensors.
struct ComponentBuilder {
    let map: ModelMap
    let input: ConversionInput
    let options: ConversionPlan.Options
    private(set) var config = ComponentConfigValues()
    private(set) var tensors: [ConversionPlan.Tensor] = []
    private(set) var skipped: [ConversionPlan.Skipped] = []

    init(map: ModelMap, input: ConversionInput, options: ConversionPlan.Options) {
        self.map = map
        self.input = input
        self.options = options
    }

    mutating func run() throws {
        try assembleConfig()
        let ints = config.integers
        let file = input.shards[0].path

        // Group same-named tensors across model-parallel shards, in shard-0 order.
        var order: [String] = []
        var byName: [String: [(source: any TensorSource, entry: TensorEntry)]] = [:]
        for shard in input.shards {
            for entry in shard.entries {
                if byName[entry.name] == nil { order.append(entry.name) }
                byName[entry.name, default: []].append((shard, entry))
            }
        }
        for shard in input.shards {
            skipped += shard.skipped.map { ConversionPlan.Skipped(file: shard.path, name: $0.path, reason: "not a tensor (\($0.type))") }
        }

        for name in order {
            let parts = byName[name]!
            guard name.hasPrefix(map.root) else {
                skipped.append(.init(file: file, name: name, reason: "outside ['\(map.root.dropLast())'] (trainer state)"))
                continue
            }
            let relative = String(name.dropFirst(map.root.count))
            if let (rule, captures) = try matchingRule(relative, ints) {
                try plan(rule: rule, captures: captures, parts: parts, ints: ints)
            } else if let skip = try map.skips.first(where: { try skips($0, relative, ints) }) {
                if skip.unused && options.keepUnused {
                    try carry(parts, as: "extra.\(map.component).\(relative)")
                } else {
                    skipped.append(.init(file: parts[0].entry.storage.file, name: name, reason: skip.reason))
                }
            } else if options.allowUnmapped {
                try carry(parts, as: "extra.\(map.component).\(relative)")
            } else {
                throw ConvertError.unmappedTensor(file: parts[0].entry.storage.file, tensor: name)
            }
        }
        try checkComplete(ints)
    }

    private mutating func assembleConfig() throws {
        let source = input.shards[0]
        config = try map.configValues(fileConfig: input.fileConfig, overrides: options.configOverrides) { source.entry(named: $0)?.shape }
    }

    private func matchingRule(_ name: String, _ ints: [String: Int]) throws -> (ModelMap.TensorRule, [String: String])? {
        for rule in map.tensors {
            guard let captures = rule.source.match(name) else { continue }
            if try inRange(rule, captures, ints) { return (rule, captures) }
        }
        return nil
    }

    /// Index placeholders must lie below their bound and on their step (`i < depth`, `i % 2 == 0`).
    private func inRange(_ rule: ModelMap.TensorRule, _ captures: [String: String], _ ints: [String: Int]) throws -> Bool {
        for (variable, bound) in rule.index {
            guard let i = captures[variable].flatMap({ Int($0) }) else { return false }
            if i >= (try evaluate(bound, ints)) { return false }
            if let step = rule.step[variable] {
                let s = try evaluate(step, ints)
                if s <= 0 || i % s != 0 { return false }
            }
        }
        return true
    }

    /// A skip rule applies when its pattern matches and every `beyond` placeholder reaches its bound.
    private func skips(_ rule: ModelMap.SkipRule, _ name: String, _ ints: [String: Int]) throws -> Bool {
        guard let captures = rule.source.match(name) else { return false }
        for (variable, bound) in rule.beyond {
            guard let i = captures[variable].flatMap({ Int($0) }), i >= (try evaluate(bound, ints)) else { return false }
        }
        return true
    }

    private func evaluate(_ expression: String, _ ints: [String: Int]) throws -> Int {
        do {
            return try ShapeExpression.evaluate(expression, ints)
        } catch {
            throw ConvertError.invalidMap(map: map.family.rawValue, reason: "'\(expression)': \(error)")
        }
    }

    private mutating func plan(
        rule: ModelMap.TensorRule, captures: [String: String],
        parts: [(source: any TensorSource, entry: TensorEntry)], ints: [String: Int]
    ) throws {
        let expected = try rule.shape.map { dim -> Int in
            if let n = dim.int { return n }
            guard let e = dim.string else { throw ConvertError.invalidMap(map: map.family.rawValue, reason: "bad shape entry in \(rule.source.text)") }
            return try evaluate(e, ints)
        }
        let name = parts[0].entry.name
        let (shape, used) = try mergedShape(parts, merge: rule.merge, name: name)
        guard shape == expected else {
            throw ConvertError.shapeMismatch(file: parts[0].entry.storage.file, tensor: name, expected: expected, found: shape)
        }
        tensors.append(
            ConversionPlan.Tensor(
                name: NamePattern.fill(rule.target, captures), component: map.component,
                dtype: options.dtype.output(for: parts[0].entry.dtype), shape: shape, sources: used,
                merge: used.count > 1 ? rule.merge : nil, transform: rule.transform, heads: ints["heads"]))
    }

    /// Model-parallel shards concatenate along `merge`; replicated tensors (no merge) must agree
    /// and are taken from shard 0.
    private func mergedShape(
        _ parts: [(source: any TensorSource, entry: TensorEntry)], merge: Int?,
        name: String
    ) throws -> ([Int], [(source: any TensorSource, entry: TensorEntry)]) {
        let first = parts[0].entry
        guard parts.count > 1 else { return (first.shape, parts) }
        guard parts.count == input.shards.count else {
            throw ConvertError.shardMismatch(tensor: name, reason: "present in \(parts.count) of \(input.shards.count) shards")
        }
        guard parts.allSatisfy({ $0.entry.dtype == first.dtype && $0.entry.shape.count == first.shape.count }) else {
            throw ConvertError.shardMismatch(tensor: name, reason: "shards disagree on dtype or rank")
        }
        guard let dim = merge else {
            guard parts.allSatisfy({ $0.entry.shape == first.shape }) else {
                throw ConvertError.shardMismatch(tensor: name, reason: "replicated tensor has different shapes")
            }
            return (first.shape, [parts[0]])
        }
        guard dim < first.shape.count, first.shape.count == 2,
            parts.allSatisfy({ $0.entry.shape == first.shape })
        else {
            throw ConvertError.shardMismatch(tensor: name, reason: "shards must be equal 2-D slices along dim \(dim)")
        }
        var shape = first.shape
        shape[dim] *= parts.count
        return (shape, parts)
    }

    /// Carries a tensor through unchanged under `extra.*` (`--allow-unmapped`, `--keep-unused`).
    private mutating func carry(_ parts: [(source: any TensorSource, entry: TensorEntry)], as name: String) throws {
        let e = parts[0].entry
        tensors.append(
            ConversionPlan.Tensor(
                name: name, component: map.component, dtype: options.dtype.output(for: e.dtype),
                shape: e.shape, sources: [parts[0]], merge: nil, transform: nil, heads: nil))
    }

    /// Every rule instance the config implies must have been found (a truncated checkpoint or a
    /// wrong config fails here, naming the first missing tensor).
    private func checkComplete(_ ints: [String: Int]) throws {
        let produced = Set(tensors.map(\.name))
        for rule in map.tensors {
            var names = [rule.target]
            for (variable, bound) in rule.index {
                let n = try evaluate(bound, ints)
                let step = try rule.step[variable].map { try evaluate($0, ints) } ?? 1
                guard step > 0 else { continue }
                names = names.flatMap { t in stride(from: 0, to: n, by: step).map { t.replacingOccurrences(of: "{\(variable)}", with: "\($0)") } }
            }
            if let missing = names.first(where: { !produced.contains($0) }) {
                throw ConvertError.missingTensor(component: map.component, tensor: missing)
            }
        }
    }
}

extension ModelMap {
    /// The component's hyperparameters as a conversion assembles them: defaults →
    /// config.json/params.json (`fileConfig`) → values read off shapes (`shape(of:)` gets the full
    /// source name) → the `--config` document's member for this component → derived values.
    public func config(
        fileConfig: [(key: String, value: JSONValue)], overrides: JSONValue,
        shape: (String) -> [Int]?
    ) throws -> [(key: String, value: JSONValue)] {
        try configValues(fileConfig: fileConfig, overrides: overrides, shape: shape).entries
    }

    func configValues(
        fileConfig: [(key: String, value: JSONValue)], overrides document: JSONValue,
        shape: (String) -> [Int]?
    ) throws -> ComponentConfigValues {
        var config = ComponentConfigValues()
        for (k, v) in defaults { config.set(k, v) }
        for (k, v) in fileConfig { config.set(k, v) }
        let overrides = document[key: component]?.objectEntries ?? []
        let overridden = Set(overrides.map(\.key))
        for (key, tensor, dim) in fromShapes where !overridden.contains(key) {
            if let s = shape(root + tensor), dim < s.count {
                config.set(key, JSONValue(s[dim]))
            }
        }
        for (k, v) in overrides { config.set(k, v) }
        for (key, expression) in derived where !overridden.contains(key) {
            do {
                config.set(key, JSONValue(try ShapeExpression.evaluate(expression, config.integers)))
            } catch {
                throw ConvertError.invalidConfig(component: component, reason: "\(key) = \(expression): \(error)")
            }
        }
        return config
    }
}
