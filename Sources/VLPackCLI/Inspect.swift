import ArgumentParser
import Foundation
import VLCheckpoint
import VLCore

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors, skipped objects, pickle globals and component family of checkpoints.",
        discussion: """
            PATH may be a .pth/.pt/.bin (torch zip or legacy), a .safetensors file, a shard index \
            (model.safetensors.index.json, pytorch_model.bin.index.json), or a folder holding a shard index \
            or a single checkpoint. A file that holds no tensor is listed with a warning on stderr. Nothing is executed and, without --hash, no tensor data is read.

            --json prints one object per path (an array for several paths):
              {"schema": 1, "path", "family", "tensors": [{"name", "dtype", "shape", "nbytes", "sha256"?}],
               "skipped": [{"path", "type"}], "globals": [...]}
            Any file that is refused makes the command exit non-zero with one line naming the file, the
            offset or tensor, and the rule that failed.
            """
    )

    @Argument(help: "Checkpoint files or folders.")
    var paths: [String]

    @Flag(help: "Print JSON (schema 1) instead of a table.")
    var json = false

    @Flag(help: "Add the SHA-256 of every tensor's C-contiguous little-endian bytes (reads all data).")
    var hash = false

    @Option(help: "Only list tensors whose name matches this regular expression.")
    var filter: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let logger = global.makeLogger("vlpack.inspect")
        let regex: Regex<AnyRegexOutput>?
        do {
            regex = try filter.map { try Regex($0) }
        } catch {
            throw ValidationError("--filter is not a valid regular expression: \(error)")
        }
        var reports: [InspectReport] = []
        for path in paths {
            let source = try Checkpoint.open(path, logger: logger)
            reports.append(try InspectReport(source: source, path: path, hash: hash, filter: regex))
            if source.entries.isEmpty {
                warn("\(path) holds no tensors (\(source.skipped.count) other objects); it cannot be converted")
            }
        }
        if json {
            let value = reports.count == 1 ? reports[0].json() : .array(reports.map { $0.json() })
            print(value.serialized())
        } else {
            print(reports.map { $0.table() }.joined(separator: "\n"), terminator: "")
        }
    }
}
