extension SentencePieceTokenizer {
    /// Ids back to text as `SentencePieceProcessor.decode` does: control pieces are invisible, the
    /// unknown piece is `unk_surface` (" ⁇ "), `▁` becomes a space, runs of byte pieces are
    /// reassembled into UTF-8 (a byte that starts no valid character becomes U+FFFD). While nothing
    /// visible has been produced, the first piece's leading `▁` is dropped when the model adds a
    /// dummy prefix (once), or every such piece's when it removes extra whitespace.
    /// Cost: O(total piece length). Throws `idOutOfRange` for an id outside the vocabulary.
    public func decode(_ ids: [Int32]) throws(TokenizerError) -> String {
        let spec = model.normalizer
        let stripsLeadingSpace = spec.addDummyPrefix || spec.removeExtraWhitespaces
        var text: [UInt8] = [], bytes: [UInt8] = []
        var expectsLeadingSpace = true, consumedLeadingSpace = false

        func flushBytes() {
            bytes.withUnsafeBufferPointer { run in
                var i = 0
                while i < run.count {
                    if let len = validUTF8Length(run, i) {
                        text += run[i..<(i + len)]
                        i += len
                    } else {
                        text += replacementCharacter
                        i += 1
                    }
                }
            }
            bytes.removeAll(keepingCapacity: true)
        }

        for id in ids {
            guard id >= 0, Int(id) < pieceBytes.count else { throw .idOutOfRange(id: Int(id), pieces: pieceBytes.count) }
            let i = Int(id)
            if byteValue[i] >= 0 {
                bytes.append(UInt8(byteValue[i]))
                continue
            }
            flushBytes()
            if consumedLeadingSpace || !text.isEmpty { expectsLeadingSpace = false }
            consumedLeadingSpace = false
            switch model.pieces[i].type {
            case .control: continue
            case .unknown:
                text += model.trainer.unknownSurface
                continue
            default: break
            }
            var piece = pieceBytes[i][...]
            if expectsLeadingSpace && stripsLeadingSpace && piece.starts(with: spaceSymbol) {
                piece = piece.dropFirst(spaceSymbol.count)
                // Removing extra whitespace strips the leading ▁ of every piece until text appears.
                consumedLeadingSpace = !spec.removeExtraWhitespaces
            }
            var k = piece.startIndex
            while k < piece.endIndex {
                if piece[k...].starts(with: spaceSymbol) {
                    text.append(0x20)
                    k += spaceSymbol.count
                } else {
                    text.append(piece[k])
                    k += 1
                }
            }
        }
        flushBytes()
        return String(decoding: text, as: UTF8.self)
    }
}
