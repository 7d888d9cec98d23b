import VLCore
import VLPackFormat

/// A hook that changes how the converter stores tensors (e.g. block quantization, module
/// `VLQuantize`) without the converter knowing how.
///
/// The converter calls `plan` once, before any byte is written, then `encode` for every tensor in
/// plan order, then records the `quant` member `encode` returns (which may hold figures measured
/// while encoding, and must fit the `headerSlack` reserved by `plan`).
public protocol TensorEncoding: AnyObject {
    /// Storage and initial `quant` member of every planned tensor (same order), and the header bytes
    /// to reserve for the members `encode` returns.
    func plan(_ tensors: [ConversionPlan.Tensor]) throws -> (tensors: [(storage: StorageType, quant: JSONValue?)], headerSlack: Int)

    /// Encodes tensor `index`: `produce` streams its plain bytes (elements of `tensor.dtype`, rows
    /// in order) to the closure it is given; the encoded bytes go to `write`. Returns the final
    /// `quant` member, or `nil` to keep the planned one.
    func encode(
        _ tensor: ConversionPlan.Tensor, index: Int,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        write: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> JSONValue?
}
