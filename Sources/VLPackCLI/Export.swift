import ArgumentParser
import Foundation
import VLConvert
import VLCore
import VLPackFormat

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the components of a .vlpack file to other formats.",
        discussion: """
            --to safetensors writes one <component>.safetensors per component into the -o folder. With \
            --names source every tensor takes back its source checkpoint's name and the documented \
            transforms are undone (the Meta q/k rotary permutation), so its bytes equal the source's \
            (unless --dtype changed them at conversion). --names canonical keeps the .vlpack names.

            Example:
              vlpack export model.vlpack --to safetensors --names source -o exported/
              vlpack export model-q4km.vlpack --to gguf -o llm.gguf
            """
    )

    enum Target: String, ExpressibleByArgument, CaseIterable { case safetensors, gguf }

    @Argument(help: "The .vlpack file.")
    var file: String

    @Option(help: "Output format.")
    var to: Target = .safetensors

    @Option(name: .shortAndLong, help: "Output folder (safetensors) or file (gguf).")
    var output: String

    @Option(help: "Tensor names: source (as in the original checkpoints) or canonical.")
    var names: Exporter.Names = .canonical

    func run() throws {
        let pack = try VLPackFile(path: file)
        if to == .gguf { return try exportGGUF(pack, to: output) }
        let paths = try Exporter(file: pack, maps: try ModelMap.bundled()).exportSafetensors(to: output, names: names)
        for p in paths { print(p) }
    }
}

extension Exporter.Names: ExpressibleByArgument {}
