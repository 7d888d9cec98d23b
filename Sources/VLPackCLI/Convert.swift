import ArgumentParser
import Foundation
import VLCheckpoint
import VLConvert
import VLCore
import VLPackFormat
import VLQuantize

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert released Video-LLaMA checkpoints into one .vlpack file.",
        discussion: """
            INPUT may be any mix of: eva_vit_g.pth, blip2_pretrained_flant5xxl.pth, imagebind_huge.pth, \
            VL_*.pth / AL_*.pth trainer checkpoints, an HF LLaMA folder (config.json, shards, tokenizer.model) \
            or a Meta folder (params.json, consolidated.NN.pth, tokenizer.model). Each input's family is \
            detected from its tensors; its model map (Formats/maps/) says which tensors are kept, renamed \
            and transformed, and which are skipped and why.

            The plan is made from metadata first; tensors are then streamed one at a time into a temporary \
            file that is fsynced and renamed into place, so peak memory stays near one tensor and a failed \
            or interrupted run leaves nothing behind.

            Examples:
              vlpack convert eva_vit_g.pth blip2_pretrained_flant5xxl.pth VL_LLaMA_2_7B_Finetuned.pth \\
                  imagebind_huge.pth AL_LLaMA_2_7B_Finetuned.pth llama-2-7b-chat-hf/ -o video-llama2-7b.vlpack
              vlpack convert Fixtures/samples/* --config Fixtures/samples/convert-config.json -o sample.vlpack --json
            """
    )

    @Argument(help: "Checkpoint files or folders, any mix of the Video-LLaMA components.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output .vlpack path.")
    var output: String

    @Option(help: "Float dtype of the output: keep (default: bf16 stays bf16), f32, f16 or bf16.")
    var dtype: ConversionPlan.DTypeRule = .keep

    @Flag(help: "With --dtype f16: accept values that overflow to infinity instead of refusing.")
    var allowOverflow = false

    @Option(help: "JSON file of per-component config overrides, e.g. {\"eva_vit\": {\"depth\": 2}}.")
    var config: String?

    @Option(help: "Prompt template of the LLM: vicuna or llama2 (default: detected from the LLM).")
    var template: String?

    @Option(help: "tokenizer.model for a Meta-form LLaMA when it is not beside the checkpoint.")
    var tokenizer: String?

    @Flag(help: "Carry tensors no map knows through under extra.* instead of refusing.")
    var allowUnmapped = false

    @Flag(help: "Keep the unused ImageBind towers (under extra.*).")
    var keepUnused = false

    @Flag(help: "Align tensors to 4096-byte pages instead of 64 bytes.")
    var pageAligned = false

    @Flag(help: "Print the conversion report as JSON on stdout.")
    var json = false

    @Option(help: "Quantize while converting: q4_k_m, q4_0 or q8_0 (see `vlpack quantize`).")
    var quantize: QuantRecipe?

    @OptionGroup var quantPolicy: QuantPolicyOptions

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let logger = global.makeLogger("vlpack.convert")
        var options = ConversionPlan.Options()
        options.dtype = dtype
        options.allowUnmapped = allowUnmapped
        options.keepUnused = keepUnused
        options.template = template
        options.tokenizer = tokenizer
        if let config {
            let file = try MappedFile(path: config)
            options.configOverrides = try attributing(to: config) { try JSONValue.parse(file.bytes) }
        }
        let plan = try ConversionPlan.make(inputs: inputs, maps: try ModelMap.bundled(), options: options, logger: logger)
        var writeOptions = Converter.Options()
        writeOptions.allowOverflow = allowOverflow
        writeOptions.alignment = pageAligned ? .page : .cacheLine
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        let started = Date()
        let session = quantize.map { quantPolicy.session($0) }
        let result = try Converter(plan: plan, options: writeOptions, logger: logger).run(
            output: output, progress: progress.update,
            encoding: session)
        progress.finish()
        if let session, !json { FileHandle.standardError.write(Data(session.report.summaryLines().map { "quantized \($0)\n" }.joined().utf8)) }
        let report = ConversionReport(plan: plan, result: result, seconds: Date().timeIntervalSince(started))
        if json {
            print(try report.json(hashingOutput: true).serialized(pretty: true))
        } else {
            FileHandle.standardError.write(Data(report.summaryLine().utf8))
        }
    }
}

extension ConversionPlan.DTypeRule: ExpressibleByArgument {}

/// One self-overwriting status line on stderr: bytes, rate, ETA and the tensor in flight.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let start = Date()
    private var last = Date.distantPast

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: Int, _ total: Int, _ tensor: String) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.2 || done == total else { return }
        last = now
        let elapsed = max(now.timeIntervalSince(start), 1e-3)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let pct = total > 0 ? 100 * Double(done) / Double(total) : 100
        let line = String(
            format: "\r%5.1f%%  %.2f/%.2f GB  %.0f MB/s  ETA %3.0fs  %@", pct, Double(done) / 1e9,
            Double(total) / 1e9, rate / 1e6, eta, String(tensor.suffix(40)) as NSString)
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
