/// Errors in VLPack are enums whose case names are the rule that failed (as safetensors' `tensor.rs`
/// does). Every case carries a payload, so `rule` can be read off the case label.
public protocol RuleError: Error, CustomStringConvertible, Sendable {
    /// Human detail: what was found, where (offset, tensor) and what was expected.
    var detail: String { get }
}

extension RuleError {
    /// The case name, e.g. `forbiddenGlobal`.
    public var rule: String {
        Mirror(reflecting: self).children.first?.label ?? "\(type(of: self))"
    }

    public var description: String { "\(rule): \(detail)" }
}

/// An error tied to the file it came from. The CLI prints it as one line: `FILE: rule: detail`.
public struct SourceError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let underlying: any Error

    public init(path: String, underlying: any Error) {
        self.path = path
        self.underlying = underlying
    }

    /// The rule name of the underlying error, when it has one.
    public var rule: String? { (underlying as? any RuleError)?.rule }

    public var description: String { "\(path): \(underlying)" }
}

/// Runs `body`, attaching `path` to any error that is not already attached to a file.
@inlinable
public func attributing<T>(to path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as SourceError {
        throw e
    } catch {
        throw SourceError(path: path, underlying: error)
    }
}
