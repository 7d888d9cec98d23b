import VLCore

/// Everything that can make a PyTorch checkpoint unreadable. Case names are the rule that failed;
/// every detail names the record, tensor or byte offset involved.
public enum TorchError: RuleError {
    // Zip container
    case zipEndRecordMissing(fileSize: Int)
    case zipRecordTruncated(offset: Int, record: String)
    case entryOutOfBounds(name: String, offset: Int, end: Int, fileSize: Int)
    case localHeaderMismatch(name: String, offset: Int)
    case duplicateEntry(name: String)
    case entryOutsidePrefix(name: String, prefix: String)
    case tooManyEntries(count: Int, limit: Int)
    case unsupportedCompression(name: String, method: Int)
    case inflateFailed(name: String, reason: String)
    case crcMismatch(name: String, expected: UInt32, found: UInt32)
    case invalidEntryName(offset: Int)
    // Torch records
    case torchScriptArchive(prefix: String)
    case legacyTarFormat(fileSize: Int)
    case recordMissing(name: String)
    case invalidByteOrder(value: String)
    case storageSizeMismatch(storage: String, expected: Int, found: Int)
    case viewOutOfBounds(tensor: String, offset: Int, shape: [Int], strides: [Int], storageElements: Int)
    case invalidPersistentID(path: String, reason: String)
    case malformedTensor(path: String, reason: String)
    case graphTooLarge(limit: Int)
    /// Two persistent ids name one storage key with different element types or sizes (torch's
    /// saver refuses to write this; its loader would silently reinterpret the bytes).
    case storageKeyConflict(key: String, first: String, second: String)
    /// Bytes follow a pickle's STOP where the format has nothing more (a bare pickle, `data.pkl`,
    /// or the end of a legacy file's storage data).
    case trailingBytes(offset: Int, count: Int, after: String)
    // Legacy stacked pickles
    /// A stacked-pickle file whose first pickle is not the torch magic number.
    case legacyBadMagic(offset: Int, found: String)
    case legacyUnsupportedProtocol(version: Int64)
    case legacyBigEndian(offset: Int)
    case legacyUnknownStorage(key: String)
    case legacyTruncated(key: String, offset: Int, needed: Int, fileSize: Int)

    public var detail: String {
        switch self {
        case let .zipEndRecordMissing(size):
            "no zip end-of-central-directory record in the last 64 KiB of a \(size)-byte file (truncated download?)"
        case let .zipRecordTruncated(offset, record):
            "\(record) at offset \(offset) runs past the end of the file"
        case let .entryOutOfBounds(name, offset, end, size):
            "entry '\(name)' spans [\(offset), \(end)) but the file has \(size) bytes"
        case let .localHeaderMismatch(name, offset):
            "local header at offset \(offset) does not match central-directory entry '\(name)'"
        case let .duplicateEntry(name):
            "zip entry '\(name)' appears twice"
        case let .entryOutsidePrefix(name, prefix):
            "zip entry '\(name)' is outside the archive folder '\(prefix)/'"
        case let .tooManyEntries(count, limit):
            "central directory claims \(count) entries (limit \(limit))"
        case let .unsupportedCompression(name, method):
            "entry '\(name)' uses compression method \(method); only stored (0) and deflate (8) are read"
        case let .inflateFailed(name, reason):
            "cannot inflate entry '\(name)': \(reason)"
        case let .crcMismatch(name, expected, found):
            "entry '\(name)' CRC-32 is \(hex(found)), central directory says \(hex(expected))"
        case let .invalidEntryName(offset):
            "zip entry name at offset \(offset) is not valid UTF-8"
        case let .torchScriptArchive(prefix):
            "'\(prefix)/' is a TorchScript archive (constants.pkl/code/): it holds a program, not a state dict; export a state_dict with torch.save instead"
        case let .legacyTarFormat(size):
            "this \(size)-byte file is the pre-1.0 PyTorch tar format, which cannot be read safely; re-save it with a current torch.save"
        case let .recordMissing(name):
            "record '\(name)' is missing from the archive"
        case let .invalidByteOrder(value):
            "byteorder record says '\(value)', expected 'little' or 'big'"
        case let .storageSizeMismatch(storage, expected, found):
            "storage '\(storage)' should hold \(expected) bytes but has \(found)"
        case let .viewOutOfBounds(tensor, offset, shape, strides, elements):
            "tensor '\(tensor)' (offset \(offset), shape \(shape), stride \(strides)) reaches past its storage of \(elements) elements"
        case let .invalidPersistentID(path, reason):
            "storage reference at '\(path)': \(reason)"
        case let .malformedTensor(path, reason):
            "tensor at '\(path)': \(reason)"
        case let .graphTooLarge(limit):
            "object graph has more than \(limit) nodes to visit (shared-reference bomb?)"
        case let .storageKeyConflict(key, first, second):
            "storage '\(key)' is declared as \(first) and again as \(second); torch never writes one storage with two types or sizes"
        case let .trailingBytes(offset, count, after):
            "\(count) unexpected bytes at offset \(offset), after \(after)"
        case let .legacyBadMagic(offset, found):
            "not a torch legacy file: the pickle at offset \(offset) holds \(found), not the magic number 0x1950a86a20f9469cfc6c"
        case let .legacyUnsupportedProtocol(version):
            "legacy torch file: protocol version \(version), expected 1001"
        case let .legacyBigEndian(offset):
            "legacy torch file written on a big-endian machine (sys_info at offset \(offset)); not supported"
        case let .legacyUnknownStorage(key):
            "legacy torch file lists storage '\(key)' that no tensor references, so its element size is unknown"
        case let .legacyTruncated(key, offset, needed, size):
            "legacy storage '\(key)' at offset \(offset) needs \(needed) bytes; file has \(size)"
        }
    }
}

private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
