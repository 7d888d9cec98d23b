/// GGUF-compatible block encodings (ggml's Q8_0, Q4_0, Q4_1, Q4_K, Q6_K). Raw values are GGUF's and
/// the `.vlpack` tensor table's spellings. The one definition of their sizes: the `.vlpack` format
/// treats blocks as opaque bytes of these sizes, VLQuant (`QuantType`) encodes and decodes them.
public enum BlockFormat: String, Sendable, CaseIterable, Codable {
    case q8_0 = "Q8_0"
    case q4_0 = "Q4_0"
    case q4_1 = "Q4_1"
    case q4_k = "Q4_K"
    case q6_k = "Q6_K"

    /// Consecutive elements of one row encoded by one block; a row length must be a multiple of it.
    public var elementsPerBlock: Int {
        switch self {
        case .q8_0, .q4_0, .q4_1: 32
        case .q4_k, .q6_k: 256
        }
    }

    /// Bytes of one block (packed, no padding).
    public var bytesPerBlock: Int {
        switch self {
        case .q8_0: 34
        case .q4_0: 18
        case .q4_1: 20
        case .q4_k: 144
        case .q6_k: 210
        }
    }

    /// Encoded size of `elements` values (a whole number of blocks); `nil` when they do not form
    /// whole blocks or the size overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % elementsPerBlock == 0 else { return nil }
        return Checked.multiply(elements / elementsPerBlock, bytesPerBlock)
    }
}
