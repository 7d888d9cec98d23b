import ArgumentParser
import Foundation
import VLCore
import VLInference
import VLPackFormat
import VLPipeline
import VLVerify

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a .vlpack file: its checksums (--integrity), outputs against a reference (--reference), quantization loss on a text (--against).",
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
            must reach rel. L2 <= 1e-4 and equal greedy ids (a step whose reference top-2 margin is below 10x its \
            logits max_abs is excused and reported), quantized ones a mean KL within llm_q8_0 (1.5e-3) or \
            llm_q4_k_m (0.065) — Formats/REFERENCE.md gives the basis.

            --against FLOAT.vlpack --text FILE runs the file's LLM and the float model it was quantized from \
            over the text and reports what quantization cost, as `llama-perplexity --kl-divergence` does, \
            on the same positions: the whole text tokenized once with BOS (one trailing newline dropped), \
            cut into chunks of --ctx tokens (default 512; the text needs at least 2 x ctx tokens), the \
            first --chunks of them (default: every full chunk), each from an empty KV cache with its first \
            token replaced by BOS, scoring logits rows ctx/2 ... ctx-2 (row j predicts token j+1). It prints \
            the mean KL divergence KL(float || model) with its standard error, top-1 agreement ("Same top \
            p"), both perplexities and their ratio; progress per chunk goes to stderr. It is slow: every \
            chunk is a full prefill on both models (a 1B model: about 60 tokens/s). With --json: \
            "against", "text", "ctx", "chunks", "tokens" (BOS included), "positions" (scored), "mean_kl" \
            (nats), "mean_kl_stderr", "max_kl", "top1_agreement", "top1_agreement_stderr", "ppl" (this \
            file's), "ppl_stderr", "ppl_base" (the float model's), "ppl_base_stderr", "ppl_ratio" \
            (ppl / ppl_base), "ppl_ratio_stderr", "ln_ppl_ratio", "ln_ppl_ratio_stderr". Both files must \
            have the same LLM shape and tokenizer.

            Exit status is non-zero when anything is wrong or any stage FAILs; 64 for a usage error.

            Examples:
              vlpack verify model.vlpack --integrity
              vlpack verify model.vlpack --reference Fixtures/reference/sample_vision.safetensors --json
              vlpack verify model-q4_k_m.vlpack --against model.vlpack --text wiki.test.raw --chunks 20
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

    @Option(help: "With a chat reference: the video it was made from (decoded again: media decoding is checked too).")
    var video: String?

    @Option(help: "With a chat reference: the image it was made from.")
    var image: String?

    @Option(help: "The float .vlpack this file was quantized from, to compare with on --text.")
    var against: String?

    @Option(help: "With --against: the text file to score (read as UTF-8 bytes).")
    var text: String?

    @Option(help: "With --against: tokens per chunk (llama-perplexity's -c; default 512).")
    var ctx: Int?

    @Option(help: "With --against: score at most this many chunks (default: every full chunk).")
    var chunks: Int?

    @Option(help: "Worker threads for --reference and --against (each GEMM is split between them).")
    var threads = 2

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        // Rule-named errors, reported as usage errors (exit 64).
        func usage(_ e: VerifyError) -> ValidationError { ValidationError(e.description) }
        if against != nil, text == nil { throw usage(.optionNeedsOption(option: "--against", needs: "--text FILE")) }
        for (option, given) in [("--text", text != nil), ("--ctx", ctx != nil), ("--chunks", chunks != nil)] where given && against == nil {
            throw usage(.optionNeedsOption(option: option, needs: "--against FLOAT.vlpack"))
        }
        if let ctx, ctx < PerplexityChunks.minimumContext { throw usage(.contextTooShort(ctx: ctx, minimum: PerplexityChunks.minimumContext)) }
        if let chunks, chunks < 1 { throw usage(.chunkCountNotPositive(chunks: chunks)) }
        guard integrity || reference != nil || against != nil else {
            throw ValidationError("nothing to verify: pass --integrity, --reference REF.safetensors and/or --against FLOAT.vlpack --text FILE")
        }
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
            let isChat = ChatReferenceCheck.holds(ref)
            let hasLLM = names.contains(StageName.llmLogits.rawValue) && !isChat
            var pass = true
            var branches: [BranchResults] = []
            /// One branch's comparisons (and the embed output's), when the reference holds its stages.
            func check<B: Branch>(_ make: () throws -> B) throws {
                let check = ReferenceCheck(branch: try make())
                let stageResults =
                    try check.run(reference: ref, state: check.branch.makeRunState(), on: context)
                    + (try embedding.map { try check.compare(embedding: ReferenceFile(path: $0), with: ref) } ?? [])
                pass = pass && check.passes(stageResults)
                branches.append(BranchResults(output: check.output, results: stageResults))
            }
            func holds<B: Branch>(_: B.Type) -> Bool { B.stageNames.contains { names.contains($0.rawValue) } }
            let hasAudio = holds(AudioBranch.self)
            // A reference with no LLM or audio tensors is a vision reference (its errors say what it lacks).
            if holds(VideoBranch.self) || (!hasLLM && !hasAudio) { try check { try VideoBranch(weights: Weights(pack: pack)) } }
            if hasAudio { try check { try AudioBranch(weights: Weights(pack: pack)) } }
            if !branches.isEmpty {
                if json {
                    output.append(("stages", .array(branches.flatMap(\.results).map(\.json))))
                } else {
                    print(Self.table(branches, reference: reference))
                }
            }
            if isChat {
                let chat = try ChatReferenceCheck.run(pipeline: Pipeline(pack: pack), reference: ref, media: video ?? image, on: context)
                pass = pass && chat.pass
                if json { output.append(("chat", chat.json)) } else { print(Self.lines(chat)) }
            }
            if hasLLM, let llm = try LLMReferenceCheck.run(decoder: LlamaDecoder(weights: Weights(pack: pack)), reference: ref, on: context) {
                pass = pass && llm.pass
                if json { output.append((ComponentName.llm.rawValue, llm.json)) } else { print(Self.line(llm)) }
            }
            ok = ok && pass
            if json { output.append(("pass", JSONValue(pass))) }
        }
        if let against, let text {
            let result = try compare(pack, against: against, text: text)
            if json {
                output += [("against", JSONValue(against)), ("text", JSONValue(text))] + result.json
            } else {
                print(Self.summary(result, against: against, text: text))
            }
        }
        if json { print(JSONValue.object(output).serialized()) }
        if !ok { throw ExitCode(1) }
    }

    /// The file's LLM against the float model on the text (QuantizationLossCheck), progress on stderr.
    func compare(_ pack: VLPackFile, against: String, text: String) throws -> QuantizationLossResult {
        let (tokenizer, _) = try loadTokenizer(file)
        let model = try attributing(to: file) { try LlamaDecoder(weights: Weights(pack: pack)) }
        let check = try attributing(to: against) { try QuantizationLossCheck(model: model, base: LlamaDecoder(weights: Weights(path: against))) }
        let tokens = try attributing(to: text) {
            QuantizationLossCheck.tokens(ofText: Array(try Data(contentsOf: URL(fileURLWithPath: text))), tokenizer: tokenizer)
        }
        let layout = try attributing(to: text) {
            try PerplexityChunks(tokenCount: tokens.count, ctx: ctx ?? PerplexityChunks.defaultContext, maxChunks: chunks)
        }
        return try check.run(tokens: tokens, bos: Int(tokenizer.model.bosID), chunks: layout, on: ExecutionContext(threads: threads)) { chunk, s in
            FileHandle.standardError.write(
                Data(
                    String(
                        format: "chunk %d/%d: mean KL so far %.6f, top-1 %.4f, PPL %.4f (float %.4f)\n", chunk + 1, layout.count, s.meanKL.value,
                        s.top1Agreement.value, s.perplexity.value, s.perplexityBase.value
                    ).utf8))
        }
    }

    /// The comparison's figures as llama-perplexity prints them (value ± standard error).
    static func summary(_ r: QuantizationLossResult, against: String, text: String) -> String {
        let s = r.statistics
        let (kl, top, ppl, base) = (s.meanKL, s.top1Agreement, s.perplexity, s.perplexityBase)
        let ratio = s.perplexityRatio
        return [
            "against: \(against)", "text: \(text) (\(r.chunks.tokenCount) tokens)",
            "\(r.chunks.count) chunks of \(r.chunks.ctx) tokens, \(s.count) positions scored (llama-perplexity's)",
            String(format: "Mean KL divergence : %10.6f ± %10.6f", kl.value, kl.standardError),
            String(format: "Maximum KL         : %10.6f", s.maxKL),
            String(format: "Same top p         : %6.3f ± %5.3f %%", 100 * top.value, 100 * top.standardError),
            String(format: "PPL (this file)    : %10.6f ± %10.6f", ppl.value, ppl.standardError),
            String(format: "PPL (float)        : %10.6f ± %10.6f", base.value, base.standardError),
            String(format: "PPL ratio          : %10.6f ± %10.6f", ratio.value, ratio.standardError),
        ].joined(separator: "\n")
    }

    /// The chat replay: what is compared exactly, then the compared tensors, then the greedy ids.
    static func lines(_ r: ChatCheckResult) -> String {
        func verdict(_ ok: Bool) -> String { ok ? "PASS" : "FAIL" }
        var lines = [
            "chat replay (the official Chat path)",
            "prompt string (\(r.prompt.count) characters) equal: \(r.promptJudged ? verdict(r.promptEqual) : "\(r.promptEqual) REPORT (an earlier quantized answer)")",
            "input.ids equal: \(r.promptJudged ? verdict(r.inputIDsEqual) : "\(r.inputIDsEqual) REPORT")",
        ]
        for s in r.stages {
            lines.append(
                String(
                    format: "%@ max_abs %.3e  rel_l2 %.3e  cosine %.8f  %@ %@", s.name.padding(toLength: 18, withPad: " ", startingAt: 0) as NSString,
                    s.metrics.maxAbs, s.metrics.relL2, s.metrics.cosine, s.tolerance.name as NSString, s.verdict as NSString))
        }
        let steps = r.expectedGreedy.count
        let equal = steps - r.mismatchedSteps.count - r.excusedSteps.count
        lines.append(
            "llm.greedy_ids: \(equal)/\(steps) steps equal"
                + (r.excusedSteps.isEmpty ? "" : ", near-ties excused at steps \(r.excusedSteps)")
                + (r.mismatchedSteps.isEmpty ? "" : ", differ at steps \(r.mismatchedSteps)")
                + (r.greedyJudged ? "  \(verdict(r.mismatchedSteps.isEmpty))" : "  REPORT (quantized weights)"))
        lines.append("chat: \(verdict(r.pass))")
        return lines.joined(separator: "\n")
    }

    /// The LLM comparison in one line.
    static func line(_ r: LLMCheckResult) -> String {
        let rule =
            if let bound = r.tolerance.maxMeanKL { String(format: "mean KL<=%.1e", bound) } else {
                String(format: "rel_l2<=%.0e, greedy equal", r.tolerance.maxRelL2 ?? 0)
            }
        return String(
            format: "%@ (%d positions)  max_abs %.3e  rel_l2 %.3e  cosine %.8f  top-1 %.4f  mean KL %.3e  greedy %@  %@ %@  %@",
            StageName.llmLogits.rawValue as NSString, r.positions, r.logits.maxAbs, r.logits.relL2, r.logits.cosine, r.top1Agreement, r.meanKL,
            (r.tolerance.maxMeanKL != nil
                ? "\(r.greedy.count - r.mismatchedSteps.count)/\(r.greedy.count) steps equal (reported)"
                : r.greedyEqual
                    ? "equal (\(r.greedy.count) ids\(r.excusedSteps.isEmpty ? "" : ", near-ties excused at steps \(r.excusedSteps)"))"
                    : "differs at steps \(r.mismatchedSteps)") as NSString,
            r.tolerance.name as NSString, rule as NSString, r.verdict as NSString)
    }

    /// One branch's comparisons and the output where its storage loss is judged.
    struct BranchResults {
        let output: StageName
        let results: [StageResult]
    }

    static func table(_ branches: [BranchResults], reference: String) -> String {
        let results = branches.flatMap(\.results)
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
        let at = branches.map(\.output.rawValue).joined(separator: " and ")
        let note = reported == 0 ? "" : " (\(reported) quantized intermediate stages reported, not judged: storage-loss targets apply at \(at))"
        if failed > 0 {
            lines.append("\(failed) of \(judged.count) judged stages FAIL\(note)")
        } else if let unjudged = branches.first(where: { !Verdict.passes($0.results, output: $0.output) }) {
            lines.append("storage loss not judged: the reference lacks \(unjudged.output.rawValue), where quantized weights are judged")
        } else {
            lines.append("all \(judged.count) judged stages PASS\(note)")
        }
        return lines.joined(separator: "\n")
    }

}
