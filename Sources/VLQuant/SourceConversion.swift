import CVLKernels
import Dispatch
import VLCore

/// Stored tensor bytes → f32, the one routine per storage type: `floats(from:dtype:into:kernel:)`
/// widens plain F32/F16/BF16, `Quantizer.dequantize` decodes blocks, and
/// `floats(from:storage:rowLength:into:kernel:)` picks between them for any `StorageType`. Also a
/// driver that quantizes a stored tensor without ever materializing it as f32 in full.
public enum SourceConversion {
    /// Converts whole rows of a stored tensor (`src`, the bytes of `dst.count` values of `storage`,
    /// rows of `rowLength` values) to f32: plain floats widened exactly, blocks decoded bit-identically
    /// to the gguf package. `rowLength` matters only for blocks (they never straddle rows). O(n);
    /// throws before writing when the storage, row length or sizes do not fit.
    public static func floats(
        from src: UnsafeRawBufferPointer, storage: StorageType, rowLength: Int,
        into dst: UnsafeMutableBufferPointer<Float>, kernel: QuantKernel = .optimized
    ) throws(QuantError) {
        switch storage {
        case let .plain(dtype): try floats(from: src, dtype: dtype, into: dst, kernel: kernel)
        case let .blocks(type): try Quantizer.dequantize(type, blocks: src, rowLength: rowLength, into: dst, kernel: kernel)
        }
    }

    /// Converts `dst.count` values from `src` (raw bytes of `dtype`). Exact for every value.
    /// `kernel == .reference` uses `FloatConversion` in Swift; otherwise C (F16C when available).
    public static func floats(
        from src: UnsafeRawBufferPointer, dtype: DType, into dst: UnsafeMutableBufferPointer<Float>,
        kernel: QuantKernel = .optimized
    ) throws(QuantError) {
        guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else { throw .unsupportedSourceDType(dtype) }
        guard src.count == dst.count * dtype.byteSize else {
            throw .destinationSizeMismatch(expected: src.count / dtype.byteSize, actual: dst.count)
        }
        guard let out = dst.baseAddress, let inp = src.baseAddress, dst.count > 0 else { return }
        switch dtype {
        case .f32:
            // memcpy: the source may be unaligned (mmapped files).
            UnsafeMutableRawPointer(out).copyMemory(from: inp, byteCount: src.count)
        case .f16 where kernel == .reference:
            for i in 0..<dst.count { out[i] = FloatConversion.floatFromFloat16(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16 where kernel == .reference:
            for i in 0..<dst.count { out[i] = FloatConversion.floatFromBFloat16(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .f16:
            // uint16 loads in C are fine on x86/arm64 for any alignment we get from byte buffers.
            vl_f16_to_f32(inp.assumingMemoryBound(to: UInt16.self), out, dst.count, kernel == .optimized ? 1 : 0)
        default:
            vl_bf16_to_f32(inp.assumingMemoryBound(to: UInt16.self), out, dst.count)
        }
    }

    /// Default tile: 64 Ki values (256 KiB of f32, cache-sized) rounded to whole rows.
    public static let defaultTileValues = 1 << 16

    /// Quantizes a stored tensor (`src`, whole rows of `rowLength` values of `dtype`) into `dst`,
    /// converting at most `tileRows` rows to f32 at a time (default: ≈ `defaultTileValues` values,
    /// at least one row); with `threads` > 1 each thread widens and quantizes its share of a tile.
    /// Peak extra memory: one tile of f32.
    public static func quantize(
        _ type: QuantType, source src: UnsafeRawBufferPointer, dtype: DType, rowLength: Int,
        into dst: UnsafeMutableRawBufferPointer, threads: Int = 1,
        tileRows: Int? = nil
    ) throws(QuantError) {
        guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else { throw .unsupportedSourceDType(dtype) }
        let values = src.count / dtype.byteSize
        guard src.count % dtype.byteSize == 0 else { throw .sourceNotWholeRows(count: values, rowLength: rowLength) }
        _ = try Quantizer.validate(type, values: values, rowLength: rowLength, bytes: dst.count)
        let rows = values / rowLength
        let rowBytes = rowLength / type.elementsPerBlock * type.bytesPerBlock
        let tile = max(1, min(rows, tileRows ?? max(1, defaultTileValues / rowLength)))
        var buffer = [Float](repeating: 0, count: tile * rowLength)
        let inRow = rowLength * dtype.byteSize
        var row = 0
        while row < rows {
            let n = min(tile, rows - row)
            let parts = max(1, min(threads, n))
            // Each part widens and quantizes its own rows (both steps in parallel) and touches only its
            // rows of the three buffers, which outlive the synchronous concurrentPerform.
            let inputs = SharedPointer(src.baseAddress! + row * inRow), outputs = SharedPointer(dst.baseAddress! + row * rowBytes)
            buffer.withUnsafeMutableBufferPointer { f in
                let floats = SharedPointer(f.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    let first = n * p / parts, last = n * (p + 1) / parts
                    guard last > first else { return }
                    let values = UnsafeMutableBufferPointer(start: floats.pointer + first * rowLength, count: (last - first) * rowLength)
                    let input = UnsafeRawBufferPointer(start: inputs.pointer + first * inRow, count: (last - first) * inRow)
                    let output = UnsafeMutableRawBufferPointer(start: outputs.pointer + first * rowBytes, count: (last - first) * rowBytes)
                    // Cannot fail: dtype, row length and sizes were validated above.
                    try! Self.floats(from: input, dtype: dtype, into: values)
                    try! Quantizer.quantize(type, rows: UnsafeBufferPointer(values), rowLength: rowLength, into: output)
                }
            }
            row += n
        }
    }
}
