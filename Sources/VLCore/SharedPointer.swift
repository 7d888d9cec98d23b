/// An address handed to the workers of one synchronous parallel loop (`DispatchQueue.concurrentPerform`
/// and what wraps it): the one fenced way VLPack shares memory across threads, instead of smuggling
/// addresses through `Int(bitPattern:)`.
///
/// `@unchecked Sendable` is sound only under two invariants the loop's author keeps (nothing checks
/// them at run time):
/// - **Lifetime**: the memory outlives the loop. Wrap inside the `withUnsafe…` scope (or the owner's
///   lifetime) the loop runs in, and never store the wrapper beyond it.
/// - **Disjointness**: no two workers touch the same element unless every one of them only reads it
///   (each worker writes its own rows, cells or slices).
///
/// Cost: the pointer itself: no copy, no lock, no reference count.
@frozen
public struct SharedPointer<Pointer: SharablePointer>: @unchecked Sendable {
    public let pointer: Pointer

    @inlinable
    public init(_ pointer: Pointer) { self.pointer = pointer }
}

/// The types `SharedPointer` may carry: plain addresses that own nothing (so sharing one never shares
/// a reference-counted object). Only the standard library's unsafe pointers conform.
public protocol SharablePointer {}

extension UnsafePointer: SharablePointer {}
extension UnsafeMutablePointer: SharablePointer {}
extension UnsafeRawPointer: SharablePointer {}
extension UnsafeMutableRawPointer: SharablePointer {}
extension UnsafeBufferPointer: SharablePointer {}
extension UnsafeMutableBufferPointer: SharablePointer {}
extension UnsafeRawBufferPointer: SharablePointer {}
extension UnsafeMutableRawBufferPointer: SharablePointer {}
