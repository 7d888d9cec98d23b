import Dispatch

/// `body`'s result and the seconds it took (monotonic clock).
public func timed<T>(_ body: () throws -> T) rethrows -> (T, seconds: Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    return (result, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}
