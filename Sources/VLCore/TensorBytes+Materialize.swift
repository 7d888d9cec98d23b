extension TensorBytes {
    /// Treats `self` as a whole storage and returns the bytes of `entry`, which views it.
    public func tensor(_ entry: TensorEntry) -> TensorBytes {
        withUnsafeBytes { Self.materialize(entry: entry, storage: $0, owner: owner ?? OwnedBuffer(count: 0)) }
    }

    /// Produces the C-contiguous little-endian bytes of `entry` from the bytes of its whole storage.
    ///
    /// Zero-copy when the view is contiguous and little-endian; otherwise copies exactly
    /// `entry.byteCount` bytes (strided gather, then byte swap if the storage is big-endian).
    /// The caller must have validated the view against the storage (`TensorEntry.viewSpan`).
    public static func materialize(entry: TensorEntry, storage: UnsafeRawBufferPointer, owner: AnyObject) -> TensorBytes {
        let item = entry.dtype.byteSize
        let start = entry.storageOffset * item
        if entry.isContiguous && !entry.storage.bigEndian {
            let view = UnsafeRawBufferPointer(rebasing: storage[start..<(start + entry.byteCount)])
            return TensorBytes(view: view, owner: owner)
        }
        let out = OwnedBuffer(count: entry.byteCount)
        if entry.isContiguous {
            out.bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[start..<(start + entry.byteCount)]))
        } else {
            gather(entry: entry, storage: storage, into: out.bytes)
        }
        if entry.storage.bigEndian && item > 1 {
            swapBytes(out.bytes, itemSize: item)
        }
        return TensorBytes(owned: out)
    }

    /// Row-major walk over a strided view, copying one element at a time; an odometer instead of
    /// recursion so the rank cannot blow the stack.
    private static func gather(entry: TensorEntry, storage: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        let n = entry.elementCount
        guard n > 0 else { return }
        let item = entry.dtype.byteSize
        let rank = entry.shape.count
        var index = [Int](repeating: 0, count: rank)
        var src = entry.storageOffset
        for k in 0..<n {
            (out.baseAddress! + k * item).copyMemory(from: storage.baseAddress! + src * item, byteCount: item)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                src += entry.strides[d]
                if index[d] < entry.shape[d] { break }
                src -= entry.strides[d] * entry.shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// Reverses the bytes of every `itemSize`-byte element in place.
    public static func swapBytes(_ buffer: UnsafeMutableRawBufferPointer, itemSize: Int) {
        var i = 0
        while i + itemSize <= buffer.count {
            var a = i, b = i + itemSize - 1
            while a < b {
                buffer.swapAt(a, b)
                a += 1
                b -= 1
            }
            i += itemSize
        }
    }
}
