import ArgumentParser
import Foundation
import VLCore
import VLInference
import VLPackFormat
import VLVerify

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a .vlpack file: every checksum (--integrity), or its outputs against a reference (--reference).",
        discussion: """
            --integrity validates the header (done on every open) and then streams every tensor through \
            CRC-32, naming each corrupted tensor.

            --reference REF.safetensors runs the model's stages on the reference's own inputs (Formats/REFERENCE.md): \
            each stage from the reference's previous output, and the whole chain from the first tensor present. \
            Per stage it prints max abs error, relative L2 error, cosine similarity and PASS/FAIL against the \
            tolerance of the weights' storage (float: rel. L2 <= 1e-4 at every stage; q8_0: cosine >= 0.9995 and \
            q4_k_m: cosine >= 0.995, judged at video.out — earlier quantized stages are shown as REPORT). \
            A reference with llm.logits (input.ids, llm.logits, llm.greedy_ids) also runs the LLM decoder: \
            logits error, top-1 agreement, mean KL divergence and the greedy continuation; float weights \
            must reach rel. L2 <= 1e-4 and equal greedy ids, quantized ones are reported.

            Exit status is non-zero when anything is wrong or any stage FAILs.

            Examples:
              vlpack verify model.vlpack --integrity
              vlpack verify model.vlpack --reference Fixtures/reference/sample_vision.safetensors --json
            """
    )

    @Argument(help: "The .vlpack file.")
    var file: String

    @Flag(help: "Check the preamble, header and every tensor checksum.")
    var integrity = false

    @Option(help: "A reference .safetensors file (Formats/REFERENCE.md) to compare the model's outputs with.")
    var reference: String?

    @Option(help: "With --reference: also compare this `vlpack embed` output with the reference, tensor by tensor.")
    var embedding: String?

    @Option(help: "Worker threads for --reference (each GEMM is split between them).")
    var threads = 2

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard integrity || reference != nil else { throw ValidationError("nothing to verify: pass --integrity and/or --reference REF.safetensors") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard embedding == nil || reference != nil else { throw ValidationError("--embedding needs --reference REF.safetensors") }
    }

    func run() throws {
        let pack = try VLPackFile(path: file)
        var ok = true
        var output: [(key: String, value: JSONValue)] = [("path", JSONValue(file))]
        if integrity {
            let problems = pack.verifyIntegrity()
            ok = ok && problems.isEmpty
            if json {
                output += [
                    ("tensors", JSONValue(pack.tensors.count)), ("ok", JSONValue(problems.isEmpty)),
                    (
                        "problems",
                        .array(
                            problems.map {
                                [
                                    "tensor": $0.tensor.map { JSONValue($0) } ?? .null, "rule": JSONValue($0.error.rule),
                                    "detail": JSONValue($0.error.detail),
                                ]
                            })
                    ),
                ]
            } else if problems.isEmpty {
                print("\(file): OK (\(pack.tensors.count) tensors, every checksum matches)")
            } else {
                for p in problems { FileHandle.standardError.write(Data("vlpack: error: \(file): \(p)\n".utf8)) }
            }
        }
        if let reference {
            let ref = try ReferenceFile(path: reference)
            let context = ExecutionContext(threads: threads)
            let names = Set(ref.file.entries.map(\.name))
            let hasLLM = names.contains(StageName.llmLogits.rawValue)
            var pass = true
            // A reference with no LLM tensors is a vision reference (its errors say what it lacks).
            if !hasLLM || VideoBranch.stageNames.contains(where: { names.contains($0.rawValue) }) {
                let check = VisionReferenceCheck.check(try VideoBranch(weights: Weights(pack: pack)))
                let results =
                    try check.run(reference: ref, state: check.branch.makeRunState(), on: context)
                    + (try embedding.map { try check.compare(embedding: ReferenceFile(path: $0), with: ref) } ?? [])
                pass = VisionReferenceCheck.passes(results)
                if json { output.append(("stages", .array(results.map(\.json)))) } else { print(Self.table(results, reference: reference)) }
            }
            if hasLLM, let llm = try LLMReferenceCheck.run(decoder: LlamaDecoder(weights: Weights(pack: pack)), reference: ref, on: context) {
                pass = pass && llm.pass
                if json { output.append((ComponentName.llm.rawValue, llm.json)) } else { print(Self.line(llm)) }
            }
            ok = ok && pass
            if json { output.append(("pass", JSONValue(pass))) }
        }
        if json { print(JSONValue.object(output).serialized()) }
        if !ok { throw ExitCode(1) }
    }

    /// The LLM comparison in one line.
    static func line(_ r: LLMCheckResult) -> String {
        let rule = r.tolerance.judged ? String(format: "rel_l2<=%.0e, greedy equal", r.tolerance.maxRelL2 ?? 0) : "report"
        return String(
            format: "%@ (%d positions)  max_abs %.3e  rel_l2 %.3e  cosine %.8f  top-1 %.4f  mean KL %.3e  greedy %@  %@ %@  %@",
            StageName.llmLogits.rawValue as NSString, r.positions, r.logits.maxAbs, r.logits.relL2, r.logits.cosine, r.top1Agreement, r.meanKL,
            (r.greedyEqual ? "equal (\(r.greedy.count) ids)" : "differs") as NSString,
            r.tolerance.name as NSString, rule as NSString, r.verdict as NSString)
    }

    static func table(_ results: [StageResult], reference: String) -> String {
        var lines = [
            "reference: \(reference)",
            "stage                              input                                max_abs    rel_l2     cosine       tolerance              result",
        ]
        for r in results {
            let name = r.input == "embedding" ? "\(r.name) (embed output)" : r.chained ? "\(r.name) (chained)" : r.name
            let rule =
                !r.tolerance.judged
                ? "report"
                : r.tolerance.maxRelL2.map { String(format: "rel_l2<=%.0e", $0) } ?? String(format: "cos>=%.4f", r.tolerance.minCosine ?? 0)
            lines.append(
                String(
                    format: "%@ %@ %.3e  %.3e  %.8f   %@ %@",
                    name.padding(toLength: 34, withPad: " ", startingAt: 0) as NSString,
                    r.input.padding(toLength: 36, withPad: " ", startingAt: 0) as NSString,
                    r.metrics.maxAbs, r.metrics.relL2, r.metrics.cosine,
                    "\(r.tolerance.name) \(rule)".padding(toLength: 22, withPad: " ", startingAt: 0) as NSString,
                    r.verdict))
        }
        let judged = results.filter(\.tolerance.judged)
        let failed = judged.filter { !$0.pass }.count
        let reported = results.count - judged.count
        let note =
            reported == 0
            ? "" : " (\(reported) quantized intermediate stages reported, not judged: storage-loss targets apply at \(VisionReferenceCheck.output))"
        if failed > 0 {
            lines.append("\(failed) of \(judged.count) judged stages FAIL\(note)")
        } else if !VisionReferenceCheck.passes(results) {
            lines.append("storage loss not judged: the reference lacks \(VisionReferenceCheck.output), where quantized weights are judged")
        } else {
            lines.append("all \(judged.count) judged stages PASS\(note)")
        }
        return lines.joined(separator: "\n")
    }
}
