import Foundation
import VLGGUF
import VLPackFormat

/// `vlpack export FILE --to gguf -o OUT.gguf`: the LLM component as GGUF (llama architecture,
/// SentencePiece vocabulary, GGUF tensor names and order, q/k rows in interleaved rotary order,
/// 1-D tensors as F32, quantized blocks copied). Prints one line per tensor on stderr and the path
/// on stdout.
func exportGGUF(_ pack: VLPackFile, to output: String) throws {
    let entries = try GGUFExporter(file: pack).export(to: output)
    for e in entries {
        FileHandle.standardError.write(Data("\(e.source) → \(e.name) \(e.type): \(e.note)\n".utf8))
    }
    print(output)
}
