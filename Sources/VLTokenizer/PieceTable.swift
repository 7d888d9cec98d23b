/// Piece text → id, looked up by a byte range of any buffer, so the encoder never builds a `String`
/// per candidate. Open addressing with linear probing over a power-of-two table at most a quarter
/// full; a slot packs the entry number, the text's length and 16 bits of its hash, so a miss (most
/// candidate pairs are not pieces) rarely touches the stored bytes.
/// Cost: O(length) expected per lookup (one FNV-1a hash, about one probe); O(total bytes) to build.
struct PieceTable: Sendable {
    /// 0 = empty; else (entry + 1) << 32 | length << 16 | hash tag.
    private var slots: [UInt64]
    private var offsets: [Int] = [0]
    private var storage: [UInt8] = []
    private var ids: [Int32] = []
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 4 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        mask = size - 1
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    /// The slot's length and tag bits for text of `count` bytes with hash `h` (lengths wrap at 65536:
    /// only a filter, the bytes are compared).
    private static func key(_ count: Int, _ h: UInt64) -> UInt64 { UInt64(count & 0xFFFF) << 16 | (h >> 48) }

    /// Adds `bytes` → `id`; false (and nothing changes) when the text is already present.
    mutating func insert(_ bytes: [UInt8], id: Int32) -> Bool {
        if bytes.withUnsafeBufferPointer({ find($0) }) != nil { return false }
        let h = bytes.withUnsafeBufferPointer { Self.hash($0) }
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = UInt64(ids.count + 1) << 32 | Self.key(bytes.count, h)
        ids.append(id)
        storage += bytes
        offsets.append(storage.count)
        return true
    }

    func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.hash(bytes), key = Self.key(bytes.count, h)
        return slots.withUnsafeBufferPointer { slots in
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i] != 0 {
                if slots[i] & 0xFFFF_FFFF == key {
                    let e = Int(slots[i] >> 32) - 1
                    let start = offsets[e]
                    if offsets[e + 1] - start == bytes.count,
                        storage.withUnsafeBufferPointer({ bytes.isEmpty || memcmpEqual($0.baseAddress! + start, bytes.baseAddress!, bytes.count) })
                    {
                        return ids[e]
                    }
                }
                i = (i + 1) & mask
            }
            return nil
        }
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    for k in 0..<n where a[k] != b[k] { return false }
    return true
}

/// The longest user-defined piece at a position, as sentencepiece's `PrefixMatcher` finds it; such a
/// piece is one symbol that BPE never merges. Symbols are grouped by first byte, longest first.
/// Cost: O(total bytes of the symbols sharing the first byte) per position.
struct UserDefinedMatcher: Sendable {
    private var lists = [[[UInt8]]](repeating: [], count: 256)
    let isEmpty: Bool

    init(_ symbols: [[UInt8]]) {
        for s in symbols where !s.isEmpty { lists[Int(s[0])].append(s) }
        for b in 0..<256 { lists[b].sort { $0.count > $1.count } }
        isEmpty = symbols.allSatisfy(\.isEmpty)
    }

    /// The byte length of the longest symbol that `text[at...]` starts with, or 0.
    func match(_ text: UnsafeBufferPointer<UInt8>, at: Int) -> Int {
        let rest = text.count - at
        for s in lists[Int(text[at])] where s.count <= rest {
            var same = true
            for k in 1..<s.count where text[at + k] != s[k] {
                same = false
                break
            }
            if same { return s.count }
        }
        return 0
    }
}
