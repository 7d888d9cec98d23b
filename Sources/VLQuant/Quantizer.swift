import CVLKernels
import Dispatch
import VLCore

/// Which implementation runs. All three produce identical bytes (the tests hold them equal).
public enum QuantKernel: Sendable, CaseIterable {
    /// Plain Swift, one block at a time (`Q8_0.swift` … `Q6_K.swift`): the readable specification.
    case reference
    /// C, portable scalar code only.
    case scalarC
    /// C with AVX2/F16C when the CPU has them (checked at run time), else the scalar C path.
    case optimized
}

/// Quantizes f32 rows into GGUF blocks and back.
///
/// Invariants checked before anything is written: the row length is a positive multiple of the
/// block size, the source is whole rows, and the destination has exactly the encoded size.
/// Values must be finite; non-finite input gives unspecified (but memory-safe) blocks.
public enum Quantizer {
    /// Quantizes `src` (whole rows of `rowLength` values) into `dst` with the optimized kernel.
    /// Cost: O(n) for the 32-value types; ≈ 30 (Q4_K) or 25 (Q6_K) passes per value for K-quants.
    public static func quantize(
        _ type: QuantType, rows src: UnsafeBufferPointer<Float>, rowLength: Int,
        into dst: UnsafeMutableRawBufferPointer
    ) throws(QuantError) {
        try quantize(type, rows: src, rowLength: rowLength, into: dst, kernel: .optimized)
    }

    public static func quantize(
        _ type: QuantType, rows src: UnsafeBufferPointer<Float>, rowLength: Int,
        into dst: UnsafeMutableRawBufferPointer, kernel: QuantKernel
    ) throws(QuantError) {
        let blocks = try validate(type, values: src.count, rowLength: rowLength, bytes: dst.count)
        guard blocks > 0, let x = src.baseAddress, let y = dst.baseAddress else { return }
        quantizeBlocks(type, x, y.assumingMemoryBound(to: UInt8.self), blocks, kernel)
    }

    /// Decodes blocks to f32 with the C kernels (bit-identical to the gguf package's dequantizers).
    public static func dequantize(
        _ type: QuantType, blocks src: UnsafeRawBufferPointer, rowLength: Int,
        into dst: UnsafeMutableBufferPointer<Float>
    ) throws(QuantError) {
        try dequantize(type, blocks: src, rowLength: rowLength, into: dst, kernel: .optimized)
    }

    /// The plain-Swift reference dequantizer.
    public static func dequantizeRef(
        _ type: QuantType, blocks src: UnsafeRawBufferPointer, rowLength: Int,
        into dst: UnsafeMutableBufferPointer<Float>
    ) throws(QuantError) {
        try dequantize(type, blocks: src, rowLength: rowLength, into: dst, kernel: .reference)
    }

    public static func dequantize(
        _ type: QuantType, blocks src: UnsafeRawBufferPointer, rowLength: Int,
        into dst: UnsafeMutableBufferPointer<Float>, kernel: QuantKernel
    ) throws(QuantError) {
        let blocks = try validate(type, values: dst.count, rowLength: rowLength, bytes: src.count)
        guard blocks > 0, let y = src.baseAddress, let x = dst.baseAddress else { return }
        let q = y.assumingMemoryBound(to: UInt8.self)
        let n = type.elementsPerBlock, b = type.bytesPerBlock
        switch kernel {
        case .reference:
            let block: (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void =
                switch type {
                case .q8_0: Q8_0Ref.dequantize
                case .q4_0: Q4_0Ref.dequantize
                case .q4_1: Q4_1Ref.dequantize
                case .q4_k: Q4_KRef.dequantize
                case .q6_k: Q6_KRef.dequantize
                }
            for i in 0..<blocks { block(q + i * b, x + i * n) }
        case .scalarC, .optimized:
            switch type {
            case .q8_0: vl_dequantize_q8_0(q, x, blocks)
            case .q4_0: vl_dequantize_q4_0(q, x, blocks)
            case .q4_1: vl_dequantize_q4_1(q, x, blocks)
            case .q4_k: vl_dequantize_q4_k(q, x, blocks)
            case .q6_k: vl_dequantize_q6_k(q, x, blocks)
            }
        }
    }

    /// Splits the rows into `threads` contiguous runs and quantizes them concurrently (each row is
    /// independent, so the bytes equal the single-threaded result). `threads` ≤ 1 runs inline.
    public static func quantizeRows(
        _ type: QuantType, rows src: UnsafeBufferPointer<Float>, rowLength: Int,
        into dst: UnsafeMutableRawBufferPointer, threads: Int,
        kernel: QuantKernel = .optimized
    ) throws(QuantError) {
        let blocks = try validate(type, values: src.count, rowLength: rowLength, bytes: dst.count)
        guard blocks > 0, let x = src.baseAddress, let y = dst.baseAddress else { return }
        let rows = src.count / rowLength, blocksPerRow = rowLength / type.elementsPerBlock
        let parts = max(1, min(threads, rows))
        // Each part touches only its own rows of both buffers, which outlive the synchronous
        // concurrentPerform.
        let xs = SharedPointer(x), ys = SharedPointer(y.assumingMemoryBound(to: UInt8.self))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = rows * part / parts, last = rows * (part + 1) / parts
            guard last > first else { return }
            let xp = xs.pointer + first * rowLength
            let yp = ys.pointer + first * blocksPerRow * type.bytesPerBlock
            quantizeBlocks(type, xp, yp, (last - first) * blocksPerRow, kernel)
        }
    }

    // MARK: - Internals

    /// Checks shapes; returns the number of blocks.
    static func validate(_ type: QuantType, values: Int, rowLength: Int, bytes: Int) throws(QuantError) -> Int {
        guard rowLength > 0, rowLength % type.elementsPerBlock == 0 else {
            throw .rowLengthNotBlockMultiple(type: type, rowLength: rowLength)
        }
        guard values % rowLength == 0 else { throw .sourceNotWholeRows(count: values, rowLength: rowLength) }
        let blocks = values / type.elementsPerBlock
        let expected = blocks * type.bytesPerBlock  // cannot overflow: bytesPerBlock < elementsPerBlock * 4
        guard bytes == expected else { throw .destinationSizeMismatch(expected: expected, actual: bytes) }
        return blocks
    }

    static func quantizeBlocks(
        _ type: QuantType, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>,
        _ blocks: Int, _ kernel: QuantKernel
    ) {
        switch kernel {
        case .reference:
            let block: (UnsafePointer<Float>, UnsafeMutablePointer<UInt8>) -> Void =
                switch type {
                case .q8_0: Q8_0Ref.quantize
                case .q4_0: Q4_0Ref.quantize
                case .q4_1: Q4_1Ref.quantize
                case .q4_k: Q4_KRef.quantize
                case .q6_k: Q6_KRef.quantize
                }
            let n = type.elementsPerBlock, b = type.bytesPerBlock
            for i in 0..<blocks { block(x + i * n, y + i * b) }
        case .scalarC, .optimized:
            let simd: Int32 = kernel == .optimized ? 1 : 0
            switch type {
            case .q8_0: vl_quantize_q8_0(x, y, blocks, simd)
            case .q4_0: vl_quantize_q4_0(x, y, blocks, simd)
            case .q4_1: vl_quantize_q4_1(x, y, blocks, simd)
            case .q4_k: vl_quantize_q4_k(x, y, blocks, simd)
            case .q6_k: vl_quantize_q6_k(x, y, blocks, simd)
            }
        }
    }

    /// Whether the optimized kernels take their AVX2 path on this machine.
    public static var usesAVX2: Bool { vl_quant_cpu_has_avx2() != 0 }
}
