import Testing
import VLCore
import VLPickle

/// Bytes from a hex literal; whitespace (line breaks in long literals) is ignored.
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
    precondition(digits.count % 2 == 0, "odd hex literal")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)! }
}

/// `text` as bytes, for GLOBAL arguments and the like in hand-built pickles.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

func runPickle(_ input: [UInt8], limits: PickleLimits = .standard, startingAt offset: Int = 0) throws -> PickleResult {
    try input.withUnsafeBytes { try PickleMachine(limits: limits).run($0, startingAt: offset) }
}

/// The error a run fails with, or `nil` when it succeeds.
func failure(_ input: [UInt8], limits: PickleLimits = .standard) -> PickleError? {
    do {
        _ = try runPickle(input, limits: limits)
        return nil
    } catch {
        return error as? PickleError
    }
}

extension PickleResult {
    func object(_ value: PickleValue) -> PickleObject? {
        guard case let .ref(ref) = value else { return nil }
        return self[ref]
    }

    func list(_ value: PickleValue) -> [PickleValue]? {
        guard case let .list(items) = object(value) else { return nil }
        return items
    }

    func tuple(_ value: PickleValue) -> [PickleValue]? {
        guard case let .tuple(items) = object(value) else { return nil }
        return items
    }

    /// A dict's type name and entries.
    func dict(_ value: PickleValue) -> (typeName: String, entries: [PickleDictEntry])? {
        guard case let .dict(typeName, entries) = object(value) else { return nil }
        return (typeName, entries)
    }

    func value(in dict: PickleValue, key: String) -> PickleValue? {
        self.dict(dict)?.entries.first { $0.key == .string(key) }?.value
    }
}
