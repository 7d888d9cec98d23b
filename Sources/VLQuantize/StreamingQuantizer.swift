import Dispatch
import VLCore
import VLQuant

/// Quantizes one tensor whose plain bytes (F32, F16 or BF16, row-major) arrive in chunks of any
/// size, emits its blocks tile by tile, and measures the error by dequantizing every tile.
///
/// - Memory: one staging tile of input (only for chunks that split a tile), one tile of blocks, and
///   per part two f32 buffers (values and their dequantization): ≈ 9 × `tileValues` bytes in all,
///   whatever the tensor size. Input that arrives in whole tiles is read in place.
/// - Threads: each tile's rows are split into `threads` contiguous parts; each part converts,
///   quantizes, dequantizes and measures its own rows concurrently. Rows are independent, so the
///   bytes equal the single-threaded result; only the Double error sums change order.
/// - Not thread-safe itself; one instance per tensor.
public final class StreamingQuantizer {
    public let type: QuantType
    public let dtype: DType
    public let rowLength: Int
    public let threads: Int
    /// Rows per tile (≥ 1).
    public let tileRows: Int

    private let rowInBytes: Int
    private let rowOutBytes: Int
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    private let blocks: UnsafeMutableRawBufferPointer
    private let scratch: UnsafeMutableBufferPointer<Float>
    private var accumulator = QuantErrorReport.Accumulator()
    /// The error sums over every row processed so far.
    public var accumulated: QuantErrorReport.Accumulator { accumulator }

    /// Default tile: 1 Mi values (4 MiB of f32 per buffer), rounded down to whole rows.
    public static let defaultTileValues = 1 << 20

    /// Refuses a dtype other than F32/F16/BF16 or a row length that is not a positive multiple of
    /// the type's block, before anything is allocated.
    public init(
        type: QuantType, dtype: DType, rowLength: Int, threads: Int,
        tileValues: Int = StreamingQuantizer.defaultTileValues
    ) throws(QuantError) {
        guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else { throw .unsupportedSourceDType(dtype) }
        guard rowLength > 0, rowLength % type.elementsPerBlock == 0 else {
            throw .rowLengthNotBlockMultiple(type: type, rowLength: rowLength)
        }
        self.type = type
        self.dtype = dtype
        self.rowLength = rowLength
        self.threads = max(1, threads)
        tileRows = max(1, tileValues / rowLength)
        rowInBytes = rowLength * dtype.byteSize
        rowOutBytes = rowLength / type.elementsPerBlock * type.bytesPerBlock
        staging = .allocate(byteCount: tileRows * rowInBytes, alignment: 64)
        blocks = .allocate(byteCount: tileRows * rowOutBytes, alignment: 64)
        scratch = .allocate(capacity: 2 * tileRows * rowLength)
    }

    deinit {
        staging.deallocate()
        blocks.deallocate()
        scratch.deallocate()
    }

    /// Takes the next chunk of input bytes; emits the blocks of every tile it completes.
    public func consume(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var rest = chunk
        let tileBytes = tileRows * rowInBytes
        while !rest.isEmpty {
            if staged == 0 && rest.count >= rowInBytes {
                // Whole rows straight from the caller's buffer.
                let rows = min(tileRows, rest.count / rowInBytes)
                try process(UnsafeRawBufferPointer(rebasing: rest[rest.startIndex..<(rest.startIndex + rows * rowInBytes)]), rows: rows, emit: emit)
                rest = UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + rows * rowInBytes)...])
                continue
            }
            let n = min(tileBytes - staged, rest.count)
            UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + n)]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: rest[rest.startIndex..<(rest.startIndex + n)]))
            staged += n
            rest = UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + n)...])
            if staged == tileBytes {
                try flushStaged(emit: emit)
            }
        }
    }

    /// Emits the staged rows and returns the error over everything consumed. Throws when the
    /// input was not a whole number of rows.
    public func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws -> QuantErrorReport {
        guard staged % rowInBytes == 0 else {
            throw QuantError.sourceNotWholeRows(count: accumulator.count + staged / dtype.byteSize, rowLength: rowLength)
        }
        if staged > 0 { try flushStaged(emit: emit) }
        return accumulator.report(bitsPerWeight: type.bitsPerWeight)
    }

    private func flushStaged(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let rows = staged / rowInBytes
        try process(UnsafeRawBufferPointer(rebasing: staging[0..<(rows * rowInBytes)]), rows: rows, emit: emit)
        let leftover = staged - rows * rowInBytes
        if leftover > 0 { staging.baseAddress!.copyMemory(from: staging.baseAddress! + rows * rowInBytes, byteCount: leftover) }
        staged = leftover
    }

    /// Quantizes `rows` whole rows at `input` into `blocks`, measures them, emits the blocks.
    private func process(_ input: UnsafeRawBufferPointer, rows: Int, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let parts = min(threads, rows)
        var partial = [QuantErrorReport.Accumulator](repeating: .init(), count: parts)
        // Every part touches only its own rows of each buffer (and its own accumulator), and all of
        // them outlive the synchronous concurrentPerform.
        let inputs = SharedPointer(input.baseAddress!), outputs = SharedPointer(blocks.baseAddress!)
        let floats = SharedPointer(scratch.baseAddress!)
        let (type, dtype, rowLength, rowIn, rowOut, tileValues) = (type, dtype, rowLength, rowInBytes, rowOutBytes, tileRows * rowLength)
        partial.withUnsafeMutableBufferPointer { acc in
            let sums = SharedPointer(acc.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let first = rows * part / parts, last = rows * (part + 1) / parts, n = (last - first) * rowLength
                guard n > 0 else { return }
                let src = UnsafeRawBufferPointer(start: inputs.pointer + first * rowIn, count: (last - first) * rowIn)
                let dst = UnsafeMutableRawBufferPointer(start: outputs.pointer + first * rowOut, count: (last - first) * rowOut)
                let base = floats.pointer
                let values = UnsafeMutableBufferPointer(start: base + first * rowLength, count: n)
                let decoded = UnsafeMutableBufferPointer(start: base + tileValues + first * rowLength, count: n)
                // Cannot fail: dtype, row length and every buffer size were checked in init.
                try! SourceConversion.floats(from: src, dtype: dtype, into: values)
                try! Quantizer.quantize(type, rows: UnsafeBufferPointer(values), rowLength: rowLength, into: dst)
                try! Quantizer.dequantize(type, blocks: UnsafeRawBufferPointer(dst), rowLength: rowLength, into: decoded)
                sums.pointer[part].add(original: UnsafeBufferPointer(values), dequantized: UnsafeBufferPointer(decoded))
            }
        }
        for p in partial { accumulator.merge(p) }
        try emit(UnsafeRawBufferPointer(rebasing: blocks[0..<(rows * rowOutBytes)]))
    }
}
