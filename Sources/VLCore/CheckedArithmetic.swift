/// Overflow-checked arithmetic for sizes read from untrusted files. Every length, count, offset and
/// shape product that comes from a file goes through these helpers; `nil` means "does not fit".
public enum Checked {
    @inlinable
    public static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }

    @inlinable
    public static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    /// Product of a shape's dimensions; `nil` on overflow or a negative dimension.
    @inlinable
    public static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0, let p = multiply(n, d) else { return nil }
            n = p
        }
        return n
    }

    /// `elementCount(shape) * itemSize`, checked.
    @inlinable
    public static func byteCount(_ shape: [Int], itemSize: Int) -> Int? {
        guard let n = elementCount(shape) else { return nil }
        return multiply(n, itemSize)
    }

    /// Converts an unsigned file field to `Int`; `nil` when it exceeds `Int.max`.
    @inlinable
    public static func int<T: FixedWidthInteger>(_ v: T) -> Int? {
        Int(exactly: v)
    }
}
