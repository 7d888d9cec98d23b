import Foundation
import VLCore
import VLGeneration
import VLInference
import VLPipeline
import VLTokenizer

/// A chat reference (Formats/REFERENCE.md, "Chat references": written by
/// Fixtures/reference/generate_chat_reference.py from the official `Chat` class) replayed end to end:
/// the media decoded from the given file, the branches, the conversation, the splicing and greedy
/// generation, compared with what the official code recorded.
///
/// Judged: the prompt string and the spliced `input.ids` exactly (after earlier answers: with float
/// weights only); the branch outputs spliced
/// (`video.out`, `audio.out`) and `llm.input_embeds`, `llm.logits` (the last input position) by the
/// rule their weights' storage selects (float: rel. L2 ≤ 1e-4; quantized: reported); the greedy ids
/// step by step (teacher-forced after a difference, a step excused under the top-2 margin rule of
/// `LLMReferenceCheck`; quantized weights: reported).
public struct ChatCheckResult: Sendable {
    public let prompt: String
    public let promptEqual: Bool
    public let inputIDsEqual: Bool
    public let stages: [StageResult]
    public let expectedGreedy: [Int]
    public let greedy: [Int]
    public let excusedSteps: [Int]
    public let mismatchedSteps: [Int]
    /// Whether the greedy ids are judged (float LLM weights).
    public let greedyJudged: Bool
    /// Whether the prompt and `input.ids` are judged: always for one question; after earlier answers
    /// only with float weights (quantized weights may answer an earlier turn otherwise, and the
    /// official code re-tokenizes that answer into the next prompt).
    public let promptJudged: Bool

    public var pass: Bool {
        (!promptJudged || (promptEqual && inputIDsEqual)) && stages.allSatisfy(\.pass) && (!greedyJudged || mismatchedSteps.isEmpty)
    }

    public var json: JSONValue {
        [
            "prompt_equal": JSONValue(promptEqual), "input_ids_equal": JSONValue(inputIDsEqual), "prompt_judged": JSONValue(promptJudged),
            "stages": .array(stages.map(\.json)), "greedy_ids": .array(greedy.map { JSONValue($0) }),
            "expected_greedy_ids": .array(expectedGreedy.map { JSONValue($0) }), "greedy_judged": JSONValue(greedyJudged),
            "excused_steps": .array(excusedSteps.map { JSONValue($0) }), "mismatched_steps": .array(mismatchedSteps.map { JSONValue($0) }),
            "pass": JSONValue(pass),
        ]
    }
}

public enum ChatReferenceCheck {
    /// A chat reference records how its media were uploaded (`upload`) and its greedy ids.
    public static func holds(_ reference: ReferenceFile) -> Bool {
        reference.file.metadata["upload"] != nil && reference.file.entries.contains { $0.name == StageName.llmGreedyIDs.rawValue }
    }

    /// Replays the reference's conversation on `pipeline` with `media` (the video or image it was made
    /// from), greedy, with the recorded template, and compares.
    public static func run(
        pipeline: Pipeline, reference: ReferenceFile, media: String?, on context: ExecutionContext
    ) throws -> ChatCheckResult {
        let meta = reference.file.metadata
        // "vicuna: default_conversation" or "llama_v2: conv_llava_llama_2".
        guard let name = meta["template"]?.split(separator: ":").first else { throw VerifyError.referenceMetadataMissing(key: "template") }
        let recorded: PromptTemplate = name.hasPrefix("llama") ? .llama2 : .vicuna
        let questions = try questionList(meta)
        let upload = meta["upload"] ?? ""
        let session = try ChatSession(pipeline: pipeline, template: recorded)
        if upload != "none" {
            guard let media else { throw VerifyError.chatReferenceNeedsMedia(upload: upload) }
            switch upload {
            case "Chat.upload_img": _ = try session.uploadImage(media, on: context)
            case "Chat.upload_video": _ = try session.uploadVideo(media, audio: .required(path: media), on: context)
            default: _ = try session.uploadVideo(media, audio: .none, on: context)
            }
        }
        var parameters = GenerationParameters()
        parameters.greedy = true
        parameters.maxNewTokens = meta["max_new_tokens"].flatMap { Int($0) } ?? parameters.maxNewTokens
        var answer: ChatSession.Answer?
        for (i, question) in questions.enumerated() {
            session.ask(question)
            answer = try session.answer(parameters: parameters, on: context, recordInput: i == questions.count - 1)
        }
        guard let answer, let embeddings = answer.inputEmbeddings else { throw VerifyError.referenceMetadataMissing(key: "question") }

        let llm = session.decoder
        let llmRule = Tolerance.forWeights(under: TensorPrefix.owned(by: .llm), in: pipeline.pack)
        func judged(_ rule: Tolerance) -> Tolerance { rule == .float ? rule : rule.reportedOnly }
        var stages: [StageResult] = []
        func compare(_ name: StageName, _ got: [Float], rule: Tolerance) throws {
            guard let (want, _) = try reference.file.entries.contains(where: { $0.name == name.rawValue }) ? reference.tensor(name.rawValue, rank: 2) : nil
            else { return }
            guard want.count == got.count else { throw VerifyError.referenceSizeMismatch(stage: name.rawValue, reference: want.count, model: got.count) }
            stages.append(StageResult(name: name.rawValue, input: "chat replay", chained: true, metrics: ErrorMetrics(got: got, want: want), tolerance: rule))
        }
        let blockNames: [StageName] = session.blocks.count == 2 ? [.audioOut, .videoOut] : [.videoOut]
        for (name, block) in zip(blockNames, session.blocks) {
            let prefixes = name == .audioOut ? AudioBranch.stages.flatMap(\.weights) : VideoBranch.stages.flatMap(\.weights)
            try compare(name, block, rule: Tolerance.forWeights(under: prefixes, in: pipeline.pack))
        }
        let wantIDs = try reference.tensor(StageName.inputIDs.rawValue, rank: 1)?.values.map { Int($0) }
        // A replay whose input differs in length (an earlier turn answered otherwise, as quantized
        // weights may) fails on `input.ids`; its rows have nothing to be compared with.
        if wantIDs?.count == answer.inputIDs.count {
            try compare(.llmInputEmbeds, embeddings, rule: judged(llmRule))
            try compare(.llmLogits, answer.generation.firstLogits, rule: judged(llmRule))
        }

        let expected = try reference.tensor(StageName.llmGreedyIDs.rawValue, rank: 1)?.values.map { Int($0) } ?? []
        let referenceSteps = try reference.tensor(StageName.llmGreedyLogits.rawValue, rank: 2)?.values
        let steps = try LLMReferenceCheck.compareGreedy(
            llm, prompt: embeddings, count: answer.inputIDs.count, expected: expected,
            referenceLogits: llmRule == .float ? referenceSteps : nil,
            state: llm.makeRunState(capacity: answer.inputIDs.count + expected.count + 1), on: context)
        return ChatCheckResult(
            prompt: answer.prompt, promptEqual: answer.prompt == meta["prompt"], inputIDsEqual: answer.inputIDs == wantIDs,
            stages: stages, expectedGreedy: expected, greedy: steps.ids, excusedSteps: steps.excused, mismatchedSteps: steps.mismatched,
            greedyJudged: llmRule == .float, promptJudged: llmRule == .float || questions.count == 1)
    }

    /// The questions asked so far (`questions_so_far`, a JSON list), else the one `question`.
    static func questionList(_ meta: [String: String]) throws -> [String] {
        if let list = meta["questions_so_far"] {
            let parsed = try list.utf8CString.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
            let questions = (parsed.array ?? []).compactMap(\.string)
            if !questions.isEmpty { return questions }
        }
        guard let question = meta["question"] else { throw VerifyError.referenceMetadataMissing(key: "question") }
        return [question]
    }
}
