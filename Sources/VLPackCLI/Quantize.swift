import ArgumentParser
import Foundation
import VLCore
import VLPackFormat
import VLQuantize

/// `--tensor-type`, `--keep` and `--threads`, shared by `quantize` and `convert --quantize`.
struct QuantPolicyOptions: ParsableArguments {
    @Option(
        name: .customLong("tensor-type"),
        help: ArgumentHelp(
            "Override: tensors matching REGEX take TYPE (q8_0, q4_0, q4_1, q4_k, q6_k); repeatable, the last match wins.", valueName: "REGEX=TYPE"))
    var tensorTypes: [String] = []

    @Option(help: ArgumentHelp("Keep tensors matching REGEX in their float dtype; repeatable.", valueName: "REGEX"))
    var keep: [String] = []

    @Option(help: "Threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        for t in tensorTypes where TypeOverride(argument: t) == nil {
            throw ValidationError("--tensor-type '\(t)': expected REGEX=TYPE with a valid regular expression and TYPE one of q8_0, q4_0, q4_1, q4_k, q6_k")
        }
        for k in keep where (try? Regex(k)) == nil { throw ValidationError("--keep '\(k)' is not a valid regular expression") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func session(_ recipe: QuantRecipe) -> QuantizationSession {
        QuantizationSession(
            policy: QuantPolicy(recipe: recipe, overrides: tensorTypes.compactMap(TypeOverride.init(argument:)), keep: keep),
            threads: threads)
    }
}

extension QuantRecipe: ExpressibleByArgument {}

/// Prints a quantization report: JSON on stdout, or the per-tensor table (stdout) with the
/// per-component summary lines.
func printQuantizationReport(_ report: QuantizationReport, json: Bool) {
    if json {
        print(report.json().serialized(pretty: true))
    } else {
        print(report.table(), terminator: "")
    }
}

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a .vlpack file to GGUF block types (Q8_0, Q4_0, Q4_K/Q6_K mixes).",
        discussion: """
            Each tensor's type follows its role (Formats/QUANT_POLICY.md): norms, biases, position \
            embeddings, query/cls tokens and patch embeddings stay float; linear weights take the recipe's \
            type in the LLM; in the 4-bit recipes the LLM's output head, token embeddings and (q4_k_m) \
            llama.cpp's sensitive attn.v/mlp.down layers take Q6_K. Every matrix of the modality branches \
            (EVA, the Q-Formers, ImageBind's audio tower, the projections) takes Q8_0 in every recipe: 4-bit \
            towers miss the storage-loss targets. A row length the type's block does not divide falls \
            back (Q4_K → Q4_1, Q6_K → Q8_0, else kept) and the reason says so. The chosen type, the reason \
            and the measured error of every tensor are recorded in the output's tensor table.

            Tensors are streamed one at a time through all cores; the output appears atomically.

            Examples:
              vlpack quantize model.vlpack -o model-q4km.vlpack --type q4_k_m
              vlpack quantize model.vlpack -o model-q8.vlpack --type q8_0 --keep 'vision\\.' --json
              vlpack quantize model.vlpack -o mixed.vlpack --type q4_k_m --tensor-type 'attn\\.(q|k)=q8_0'
            """
    )

    @Argument(help: "The .vlpack file to quantize.")
    var input: String

    @Option(name: .shortAndLong, help: "Output .vlpack path.")
    var output: String

    @Option(name: .customLong("type"), help: "Recipe: q4_k_m, q4_0 or q8_0.")
    var recipe: QuantRecipe

    @OptionGroup var policy: QuantPolicyOptions

    @Flag(help: "Print the error report as JSON on stdout.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let file = try VLPackFile(path: input)
        let session = policy.session(recipe)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        let started = Date()
        let summary = try session.quantize(file, output: output, progress: progress.update)
        progress.finish()
        printQuantizationReport(session.report, json: json)
        let seconds = Date().timeIntervalSince(started)
        let inBytes = file.tensors.reduce(0) { $0 + $1.nbytes }
        FileHandle.standardError.write(
            Data(
                String(
                    format: "wrote %@: %.2f MiB → %.2f MiB in %.1f s (%.0f MB/s of input, %d threads)\n",
                    output, Double(inBytes) / 1048576, Double(summary.fileSize) / 1048576, seconds,
                    Double(inBytes) / max(seconds, 1e-6) / 1e6, session.threads
                ).utf8))
    }
}
