import VLTokenizer

/// libFuzzer entry point for the `tokenizer.model` (SentencePiece `ModelProto`) reader: the input
/// is a whole file. When it parses, a prefix of it must either be refused or give a prefix of the
/// same pieces (the reader is a single forward scan, so a cut can only lose trailing fields).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let model = try? SentencePieceModel(bytes: bytes) else { return 0 }
    guard let cut = try? SentencePieceModel(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<(size / 2)])) else { return 0 }
    // Compared by score bits: a fuzzed score may be NaN.
    func same(_ a: SentencePieceModel.Piece, _ b: SentencePieceModel.Piece) -> Bool {
        a.text == b.text && a.type == b.type && a.score.bitPattern == b.score.bitPattern
    }
    precondition(
        cut.pieces.count <= model.pieces.count && zip(cut.pieces, model.pieces).allSatisfy(same),
        "a prefix of the file gave pieces the whole file does not start with")
    return 0
}
