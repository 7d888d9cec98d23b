/// The UTF-8 rule sentencepiece applies (`string_util::IsValidDecodeUTF8`): shortest form only, no
/// surrogates, nothing above U+10FFFF. Returns the length of the character at `i`, or nil when the
/// byte there starts no valid character (sentencepiece then consumes that one byte).
func validUTF8Length(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
    let b0 = UInt32(p[i]), left = p.count - i
    if b0 < 0x80 { return 1 }
    func trail(_ k: Int) -> UInt32? { p[i + k] & 0xC0 == 0x80 ? UInt32(p[i + k] & 0x3F) : nil }
    func scalarOK(_ c: UInt32) -> Bool { c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF) }
    if left >= 2, b0 & 0xE0 == 0xC0, let t1 = trail(1) {
        let c = (b0 & 0x1F) << 6 | t1
        return c >= 0x80 ? 2 : nil
    }
    if left >= 3, b0 & 0xF0 == 0xE0, let t1 = trail(1), let t2 = trail(2) {
        let c = (b0 & 0x0F) << 12 | t1 << 6 | t2
        return c >= 0x800 && scalarOK(c) ? 3 : nil
    }
    if left >= 4, b0 & 0xF8 == 0xF0, let t1 = trail(1), let t2 = trail(2), let t3 = trail(3) {
        let c = (b0 & 0x07) << 18 | t1 << 12 | t2 << 6 | t3
        return c >= 0x10000 && scalarOK(c) ? 4 : nil
    }
    return nil
}

let spaceSymbol: [UInt8] = Array("\u{2581}".utf8)
let replacementCharacter: [UInt8] = Array("\u{FFFD}".utf8)

/// sentencepiece's `Normalizer::Normalize` for the identity rule (an empty `precompiled_charsmap`),
/// driven by the model's `normalizer_spec`: leading spaces dropped and runs of spaces collapsed when
/// `remove_extra_whitespaces`, the dummy prefix when `add_dummy_prefix`, spaces escaped to `▁` when
/// `escape_whitespaces`, a byte that starts no valid UTF-8 character replaced by U+FFFD. A
/// user-defined piece is one chunk (as the library's prefix matcher makes it). Only the ASCII space
/// counts as whitespace; tabs and newlines are ordinary characters. Cost: O(n) bytes (plus the
/// user-defined match per chunk); the output is at most 3n + 3 bytes.
struct IdentityNormalizer: Sendable {
    let spec: NormalizerSpec
    let matcher: UserDefinedMatcher

    func normalize(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var i = 0
        let n = input.count
        // One chunk at `i`: its bytes (a range of input, or the replacement character) and the bytes consumed.
        func chunk(_ i: Int) -> (range: Range<Int>?, consumed: Int) {
            let user = matcher.isEmpty ? 0 : matcher.match(input, at: i)
            if user > 0 { return (i..<(i + user), user) }
            guard let len = validUTF8Length(input, i) else { return (nil, 1) }
            return (i..<(i + len), len)
        }
        if spec.removeExtraWhitespaces {
            while i < n, case let (range?, consumed) = chunk(i), range.count == 1, input[range.lowerBound] == 0x20 { i += consumed }
        }
        if i == n { return [] }
        var out: [UInt8] = []
        out.reserveCapacity((n - i) * 3 + 3)
        if spec.addDummyPrefix { out += spec.escapeWhitespaces ? spaceSymbol : [0x20] }
        var isPrevSpace = spec.removeExtraWhitespaces
        while i < n {
            let (range, consumed) = chunk(i)
            if let range {
                var lo = range.lowerBound
                while isPrevSpace, lo < range.upperBound, input[lo] == 0x20 { lo += 1 }
                if lo < range.upperBound {
                    for k in lo..<range.upperBound {
                        if spec.escapeWhitespaces && input[k] == 0x20 { out += spaceSymbol } else { out.append(input[k]) }
                    }
                    isPrevSpace = input[range.upperBound - 1] == 0x20
                }
            } else {
                out += replacementCharacter
                isPrevSpace = false
            }
            i += consumed
            if !spec.removeExtraWhitespaces { isPrevSpace = false }
        }
        if spec.removeExtraWhitespaces {
            let space = spec.escapeWhitespaces ? spaceSymbol : [0x20]
            while out.count >= space.count, Array(out.suffix(space.count)) == space { out.removeLast(space.count) }
        }
        return out
    }
}
