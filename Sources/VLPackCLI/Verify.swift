import ArgumentParser
import Foundation
import VLCore
import VLPackFormat

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a .vlpack file: every checksum (--integrity).",
        discussion: """
            --integrity validates the header (done on every open) and then streams every tensor through \
            CRC-32, naming each corrupted tensor. Exit status is non-zero when anything is wrong.
            """
    )

    @Argument(help: "The .vlpack file.")
    var file: String

    @Flag(help: "Check the preamble, header and every tensor checksum.")
    var integrity = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard integrity else { throw ValidationError("nothing to verify: pass --integrity") }
    }

    func run() throws {
        let pack: VLPackFile
        do {
            pack = try VLPackFile(path: file)
        } catch {
            throw fail(error)
        }
        let problems = pack.verifyIntegrity()
        if json {
            let value: JSONValue = [
                "path": JSONValue(file), "tensors": JSONValue(pack.tensors.count), "ok": JSONValue(problems.isEmpty),
                "problems": .array(problems.map { ["tensor": $0.tensor.map { JSONValue($0) } ?? .null, "rule": JSONValue($0.error.rule),
                                                   "detail": JSONValue($0.error.detail)] }),
            ]
            print(value.serialized())
        } else if problems.isEmpty {
            print("\(file): OK (\(pack.tensors.count) tensors, every checksum matches)")
        } else {
            for p in problems { FileHandle.standardError.write(Data("vlpack: error: \(file): \(p)\n".utf8)) }
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
