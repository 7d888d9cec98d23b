import Foundation
import Testing
import VLCore
import VLGeneration
import VLInference
import VLPackFormat
import VLPipeline
import VLSafetensors
import VLTokenizer
import VLVerify

/// The whole official Chat path on the sample model against the references the official `Chat` class
/// wrote (Fixtures/reference/generate_chat_reference.py: `Chat` unmodified over a stand-in model whose
/// branches are the independent modules and whose LLM is transformers 4.28's LlamaForCausalLM, greedy):
/// the prompt string, the spliced `input.ids`, the branch outputs and the greedy ids, for video+audio
/// (Vicuna and LLaMA-2), video only, a still image and two-turn conversations.
@Suite(.serialized) struct ChatParityTests {
    static let model: String = Samples.convert(
        dtype: .keep, name: "all",
        inputs: ["eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "VL_tiny.pth", "imagebind_huge.pth", "AL_tiny.pth", "llama-hf"])

    struct Reference {
        let file: SafetensorsFile
        let ref: ReferenceFile
        init(_ name: String) throws {
            ref = try ReferenceFile(path: "\(Samples.root)/Fixtures/reference/sample_chat_\(name).safetensors")
            file = ref.file
        }
        func meta(_ key: String) -> String? { file.metadata[key] }
        func ints(_ name: String) throws -> [Int] { try #require(try ref.tensor(name, rank: 1)).values.map { Int($0) } }
    }

    static func parameters() -> GenerationParameters {
        var p = GenerationParameters()
        p.greedy = true
        p.maxNewTokens = 32
        return p
    }

    /// One turn checked against its reference: prompt, spliced ids, and the greedy ids (a step whose
    /// reference top-2 margin is below the tie bound may differ: then only the prefix before it is held).
    static func expectTurn(_ answer: ChatSession.Answer, _ r: Reference) throws {
        #expect(answer.prompt == r.meta("prompt"))
        #expect(answer.inputIDs == (try r.ints("input.ids")))
        let want = try r.ints("llm.greedy_ids")
        let got = answer.ids + answer.stopIDs
        let logits = try #require(try r.ref.tensor("llm.greedy_logits", rank: 2))
        let V = logits.shape[1]
        if let first = zip(got, want).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            let row = Array(logits.values[first * V..<(first + 1) * V]).sorted(by: >)
            #expect(Double(row[0] - row[1]) < Self.nearTieMargin, "step \(first) differs with margin \(row[0] - row[1])")
        } else {
            #expect(got == want)
        }
    }

    /// Below this top-2 logit margin a greedy step may flip between f32 implementations (the sample's
    /// step 11 of the video+audio answer has 9.6e-5; every other step is ≥ 1e-2 apart).
    static let nearTieMargin = 1e-3

    static func session(_ template: PromptTemplate) throws -> ChatSession {
        try ChatSession(pipeline: Pipeline(pack: VLPackFile(path: model)), template: template)
    }

    @Test(arguments: [("av_vicuna", PromptTemplate.vicuna), ("av_llama2", .llama2)])
    func videoWithSound(name: String, template: PromptTemplate) throws {
        let r = try Reference(name)
        let s = try Self.session(template)
        let (outcome, _) = try s.uploadVideo(
            "\(Samples.root)/Fixtures/media/sample_av.mp4", audio: .ifPresent(path: "\(Samples.root)/Fixtures/media/sample_av.mp4"), on: .standard)
        #expect(outcome == .loaded)
        // The blocks: audio first, then video, each as the independent modules computed them.
        let audio = try #require(try r.ref.tensor("audio.out", rank: 2)), video = try #require(try r.ref.tensor("video.out", rank: 2))
        #expect(ErrorMetrics(got: s.blocks[0], want: audio.values).relL2 <= Tolerance.float.maxRelL2!)
        #expect(ErrorMetrics(got: s.blocks[1], want: video.values).relL2 <= Tolerance.float.maxRelL2!)
        s.ask(try #require(r.meta("question")))
        try Self.expectTurn(try s.answer(parameters: Self.parameters(), on: .standard), r)
    }

    @Test func videoWithoutSound() throws {
        let r = try Reference("video")
        let s = try Self.session(.vicuna)
        _ = try s.uploadVideo("\(Samples.root)/Fixtures/media/sample_av.mp4", audio: .none, on: .standard)
        s.ask(try #require(r.meta("question")))
        try Self.expectTurn(try s.answer(parameters: Self.parameters(), on: .standard), r)
    }

    @Test func stillImage() throws {
        let r = try Reference("image")
        let s = try Self.session(.vicuna)
        _ = try s.uploadImage("\(Samples.root)/Fixtures/media/image.png", on: .standard)
        s.ask(try #require(r.meta("question")))
        try Self.expectTurn(try s.answer(parameters: Self.parameters(), on: .standard), r)
    }

    /// Two turns: the second re-tokenizes the first answer's text (not its ids) and reuses the cached
    /// prefix up to the first difference.
    @Test(arguments: [("two_turn", PromptTemplate.vicuna), ("two_turn_llama2", .llama2)])
    func twoTurns(name: String, template: PromptTemplate) throws {
        let first = try Reference("\(name)_1"), second = try Reference("\(name)_2")
        let s = try Self.session(template)
        let video = "\(Samples.root)/Fixtures/media/sample_av.mp4"
        _ = try s.uploadVideo(video, audio: .ifPresent(path: video), on: .standard)
        s.ask(try #require(first.meta("question")))
        let one = try s.answer(parameters: Self.parameters(), on: .standard)
        try Self.expectTurn(one, first)
        #expect(one.answer == first.meta("answer"))
        s.ask(try #require(second.meta("question")))
        let two = try s.answer(parameters: Self.parameters(), on: .standard)
        try Self.expectTurn(two, second)
        #expect(two.answer == second.meta("answer"))
        // Everything up to the first answer's text is reused; the rest is prefilled.
        let common = zip(one.inputIDs, two.inputIDs).prefix { $0 == $1 }.count
        #expect(two.reusedPositions >= common - 1 && two.reusedPositions > 0)
        #expect(two.reusedPositions + two.prefilledPositions == two.inputIDs.count)
    }

    /// A question that contains the placeholder text itself cannot be spliced (the official code asserts);
    /// the error names the rule and the conversation keeps no half-made reply.
    @Test func aPlaceholderInTheQuestionIsRefused() throws {
        let s = try Self.session(.vicuna)
        _ = try s.uploadImage("\(Samples.root)/Fixtures/media/image.png", on: .standard)
        s.ask("What is \(Conversation.placeholder)?")
        #expect(throws: ChatError.placeholderCountMismatch(placeholders: 2, blocks: 1)) {
            try s.answer(parameters: Self.parameters(), on: .standard)
        }
        #expect(s.conversation.messages.last?.role == s.conversation.roles.user)
    }

    /// The demo's window: input and new tokens together at most 2000 positions — the oldest positions
    /// are cut (`embs[:, begin_idx:]`), and the KV cache is not reused once the window's start moves.
    @Test func longConversationsKeepTheDemosWindow() throws {
        let s = try Self.session(.vicuna)
        var p = Self.parameters()
        p.maxNewTokens = 8
        s.ask(String(repeating: "a b ", count: 1100))  // ~2200 ids with the sample's tokenizer
        let first = try s.answer(parameters: p, on: .standard)
        #expect(first.inputIDs.count == ChatSession.maxContext - p.maxNewTokens)
        #expect(first.inputIDs.first != 1)  // BOS was cut with the oldest positions
        s.ask("and?")
        let second = try s.answer(parameters: p, on: .standard)
        #expect(second.inputIDs.count == ChatSession.maxContext - p.maxNewTokens)
        #expect(second.reusedPositions == 0)
        // The window ends with the new question and the assistant's tag, as the full prompt does.
        let tail = s.tokenizer.encode(String(second.prompt.suffix(40)), bos: false)
        #expect(Array(second.inputIDs.suffix(8)) == Array(tail.suffix(8)))
    }

    /// A new upload's blocks are new to the cache even where the prompt text is the same: the second
    /// image reuses only the text before its block, and answers as a fresh session does.
    @Test func aNewUploadIsNotMistakenForTheCachedOne() throws {
        let (png, jpg) = ("\(Samples.root)/Fixtures/media/image.png", "\(Samples.root)/Fixtures/media/image.jpg")
        let s = try Self.session(.vicuna)
        _ = try s.uploadImage(png, on: .standard)
        s.ask("What is in the image?")
        let first = try s.answer(parameters: Self.parameters(), on: .standard)
        s.reset()
        _ = try s.uploadImage(jpg, on: .standard)
        s.ask("What is in the image?")
        let second = try s.answer(parameters: Self.parameters(), on: .standard)
        #expect(second.prompt == first.prompt)
        #expect(second.reusedPositions == second.inputIDs.firstIndex(of: -1))
        let fresh = try Self.session(.vicuna)
        _ = try fresh.uploadImage(jpg, on: .standard)
        fresh.ask("What is in the image?")
        #expect(try fresh.answer(parameters: Self.parameters(), on: .standard).ids == second.ids)
    }
}
