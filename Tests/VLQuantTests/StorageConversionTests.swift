import Testing
import VLCore
@testable import VLQuant

/// `SourceConversion.floats(from:storage:...)`, the one stored → f32 routine every reader calls
/// (Weights, the GGUF export): the plain widening and the block dequantizer, chosen by storage.
@Suite struct StorageConversionTests {
    static let rows = 3, cols = 256

    /// Every storage a tensor may be read as: equal bits to the routine it dispatches to, per kernel.
    @Test(arguments: [StorageType.plain(.f32), .plain(.f16), .plain(.bf16)] + QuantType.allCases.map { .blocks($0) })
    func dispatchesToTheRoutineOfItsStorage(_ storage: StorageType) throws {
        let x = FixtureGenerator.generate(seed: 11, start: 0, count: Self.rows * Self.cols, mode: .normal, group: 32)
        let stored: [UInt8]
        switch storage {
        case .plain(.f16): stored = x.map { FloatConversion.float16FromFloat($0) }.withUnsafeBytes { Array($0) }
        case .plain(.bf16): stored = x.map { FloatConversion.bfloat16FromFloat($0) }.withUnsafeBytes { Array($0) }
        case let .blocks(type): stored = try quantized(type, x, rowLength: Self.cols)
        default: stored = x.withUnsafeBytes { Array($0) }
        }
        for kernel in QuantKernel.allCases {
            var got = [Float](repeating: .nan, count: x.count), want = got
            try stored.withUnsafeBytes { src in
                try got.withUnsafeMutableBufferPointer {
                    try SourceConversion.floats(from: src, storage: storage, rowLength: Self.cols, into: $0, kernel: kernel)
                }
                try want.withUnsafeMutableBufferPointer { dst in
                    switch storage {
                    case let .plain(dtype): try SourceConversion.floats(from: src, dtype: dtype, into: dst, kernel: kernel)
                    case let .blocks(type): try Quantizer.dequantize(type, blocks: src, rowLength: Self.cols, into: dst, kernel: kernel)
                    }
                }
            }
            #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(storage.name) \(kernel)")
        }
    }

    /// Storage that is not floats, and sizes that do not match, are refused before anything is written.
    @Test func refusesWhatItCannotConvert() {
        var out = [Float](repeating: .nan, count: 4)
        let bytes = [UInt8](repeating: 0, count: 32)
        #expect(throws: QuantError.unsupportedSourceDType(.i64)) {
            try bytes.withUnsafeBytes { src in
                try out.withUnsafeMutableBufferPointer { try SourceConversion.floats(from: src, storage: .plain(.i64), rowLength: 4, into: $0) }
            }
        }
        #expect(throws: QuantError.rowLengthNotBlockMultiple(type: .q8_0, rowLength: 4)) {
            try bytes.withUnsafeBytes { src in
                try out.withUnsafeMutableBufferPointer { try SourceConversion.floats(from: src, storage: .blocks(.q8_0), rowLength: 4, into: $0) }
            }
        }
        #expect(out.allSatisfy { $0.isNaN })
    }
}
