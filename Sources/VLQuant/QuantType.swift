import VLCore

/// The GGUF block quantization types VLPack writes: the block encodings themselves (`BlockFormat`,
/// whose blocks are byte-for-byte the GGUF layout, so a GGUF writer copies them unchanged), seen
/// from the quantizer's side.
public typealias QuantType = BlockFormat

extension BlockFormat {
    /// Storage cost per weight, scales included (8.5, 4.5, 5.0, 4.5, 6.5625).
    public var bitsPerWeight: Double { Double(bytesPerBlock * 8) / Double(elementsPerBlock) }

    /// The type used instead when a row length is not a multiple of `elementsPerBlock`: the K-quants
    /// fall back to a 32-element type of at least their precision (llama-quantize's Q6_K → Q8_0; for
    /// Q4_K VLPack uses Q4_1 where llama.cpp uses Q5_0). `nil` for the 32-element types themselves.
    public var fallback: QuantType? {
        switch self {
        case .q4_k: .q4_1
        case .q6_k: .q8_0
        case .q8_0, .q4_0, .q4_1: nil
        }
    }

    /// The type a row of `rowLength` values actually gets when `requested` is asked for: `requested`
    /// itself when the row divides into its blocks, else the fallback chain; `nil` means the tensor
    /// keeps its float dtype (row length not a multiple of 32, or not positive).
    public static func best(for requested: QuantType, rowLength: Int) -> QuantType? {
        var candidate: QuantType? = requested
        while let type = candidate {
            if rowLength > 0 && rowLength % type.elementsPerBlock == 0 { return type }
            candidate = type.fallback
        }
        return nil
    }
}

/// Why a quantization call was refused. Raised before any byte is written.
public enum QuantError: RuleError, Equatable {
    /// The row length is not a positive multiple of the type's block size.
    case rowLengthNotBlockMultiple(type: QuantType, rowLength: Int)
    /// The float buffer is not a whole number of rows.
    case sourceNotWholeRows(count: Int, rowLength: Int)
    /// The destination buffer's size differs from what the source needs.
    case destinationSizeMismatch(expected: Int, actual: Int)
    /// The source dtype cannot be converted to f32 rows (only F32, F16 and BF16 can).
    case unsupportedSourceDType(DType)

    public var detail: String {
        switch self {
        case let .rowLengthNotBlockMultiple(type, rowLength):
            "row length \(rowLength) is not a positive multiple of \(type.rawValue)'s \(type.elementsPerBlock)-value block"
        case let .sourceNotWholeRows(count, rowLength):
            "\(count) values do not form whole rows of \(rowLength)"
        case let .destinationSizeMismatch(expected, actual):
            "destination holds \(actual) \(actual == 1 ? "element" : "elements"), expected \(expected)"
        case let .unsupportedSourceDType(dtype):
            "cannot quantize \(dtype.rawValue) data (F32, F16 or BF16 only)"
        }
    }
}
