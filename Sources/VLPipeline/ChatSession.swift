import Foundation
import VLCore
import VLGeneration
import VLInference
import VLTokenizer

/// A conversation with the model as the official `Chat` runs it (spec §5.3–5.5): uploads add their
/// embedding blocks and user message, `ask` adds a question, `answer` rebuilds and re-tokenizes the
/// whole prompt (as the official code does every turn), splices the blocks at the `<ImageHere>`
/// placeholders, keeps the demo's context window, generates and post-processes.
///
/// The KV cache is kept between turns and reused for the **longest common prefix** of the new
/// spliced input and the cached sequence (token ids, and embedding rows by block and row), so a
/// follow-up question prefills only what changed; it is dropped when the window's start moves.
/// One session is one run state: not for concurrent use (sessions over one `Pipeline` are).
public final class ChatSession {
    public let pipeline: Pipeline
    public let decoder: LlamaDecoder
    public let tokenizer: LLMTokenizer
    public private(set) var conversation: Conversation
    /// `img_list`: the embedding blocks in placeholder order, each [rows, d_llm].
    public private(set) var blocks: [[Float]] = []
    /// Each block's identity for the cache record (unique in the session: a new upload's block 0 is
    /// not the previous conversation's block 0).
    private var blockIDs: [Int] = []
    private var nextBlockID = 0
    private let state: LlamaDecoder.RunState
    /// What the KV cache holds, position by position, and where the window started.
    private var cached: [Item] = []
    private var cachedWindowStart = 0

    /// The official demo's context: input and new tokens together at most this long (`max_length`).
    public static let maxContext = 2000

    /// One position of the spliced input: a token, or row `row` of block `index` (identified by `id`).
    enum Item: Equatable {
        case token(Int)
        case block(id: Int, index: Int, row: Int)
    }

    public init(pipeline: Pipeline, template: PromptTemplate, system: String? = nil) throws {
        self.pipeline = pipeline
        decoder = try LlamaDecoder(weights: Weights(pack: pipeline.pack))
        tokenizer = try LLMTokenizer(pack: pipeline.pack)
        conversation = Conversation(template: template, system: system)
        state = decoder.makeRunState(capacity: Self.maxContext + 1)
    }

    /// The template the file recorded at conversion (`llm` config `template`), else Vicuna.
    public static func recordedTemplate(of pipeline: Pipeline) -> PromptTemplate {
        (pipeline.pack.parts.components[key: ComponentName.llm.rawValue]?[key: "config"]?[key: "template"]?.string)
            .flatMap(PromptTemplate.init(rawValue:)) ?? .vicuna
    }

    /// A new conversation (an upload in the demo, or `/clear`); the KV cache is kept for reuse.
    public func reset(system: String? = nil) {
        conversation = Conversation(template: conversation.template, system: system)
        blocks = []
        blockIDs = []
    }

    /// Adds an upload's embedding blocks (audio first, as `Chat.upload_video` appends them) and its
    /// user message. `system` (when given) replaces the system prompt first, as the demo sets it
    /// before uploading.
    public func upload(_ upload: Conversation.Upload, blocks new: [[Float]], system: String? = nil) throws {
        guard new.count == upload.blocks else { throw ChatError.blockCountMismatch(expected: upload.blocks, got: new.count) }
        let d = decoder.config.hidden
        for b in new where b.isEmpty || b.count % d != 0 { throw ChatError.blockWidthMismatch(width: d, values: b.count) }
        if let system { conversation.system = system }
        blocks += new
        blockIDs += (0..<new.count).map { nextBlockID + $0 }
        nextBlockID += new.count
        conversation.upload(upload)
    }

    public func ask(_ question: String) { conversation.ask(question) }

    /// Replaces the system prompt (`--system`).
    public func overrideSystem(_ system: String) { conversation.system = system }

    /// What an answer produced.
    public struct Answer: Sendable {
        /// The full templated prompt with its `<ImageHere>` placeholders.
        public var prompt: String
        /// The spliced input in the window, as `input.ids`: token ids, −1 at embedding rows.
        public var inputIDs: [Int]
        /// The new tokens, stop ids excluded, and what `generate` returned after them.
        public var ids: [Int]
        public var stopIDs: [Int]
        /// `ids` decoded, and the demo's post-processed answer.
        public var text: String
        public var answer: String
        /// Positions reused from the KV cache, and the ones prefilled.
        public var reusedPositions: Int
        public var prefilledPositions: Int
        public var generation: GenerationResult
        /// The spliced input rows [L, d] of the window, when `answer(recordInput: true)` asked for them.
        public var inputEmbeddings: [Float]?
    }

    /// `Chat.answer`: appends the pending reply, splices and generates, stores the post-processed
    /// answer in the conversation. Cost: prefill of the positions after the reused prefix, then one
    /// decoder step per new token.
    public func answer(
        parameters: GenerationParameters, on context: ExecutionContext,
        recordInput: Bool = false, progress: (RunStage, Double) -> Void = { _, _ in }, onToken: (Int) -> Void = { _ in },
        isCancelled: () -> Bool = { false }
    ) throws -> Answer {
        conversation.beginAnswer()
        var answered = false
        defer { if !answered { conversation.cancelAnswer() } }
        let prompt = conversation.prompt
        let segments = prompt.components(separatedBy: Conversation.placeholder)
        guard segments.count == blocks.count + 1 else {
            throw ChatError.placeholderCountMismatch(placeholders: segments.count - 1, blocks: blocks.count)
        }
        // Each segment tokenized on its own, BOS on the first only; block i after segment i.
        let d = decoder.config.hidden
        var items: [Item] = []
        for (i, segment) in segments.enumerated() {
            items += tokenizer.encode(segment, bos: i == 0).map(Item.token)
            if i < blocks.count { items += (0..<blocks[i].count / d).map { Item.block(id: blockIDs[i], index: i, row: $0) } }
        }
        // The demo's window: the last max_length − max_new_tokens positions.
        let windowStart = max(0, items.count + parameters.maxNewTokens - Self.maxContext)
        items = Array(items[windowStart...])

        // Reuse the cached prefix (never the whole input: the last position must run for its logits).
        var reused = 0
        if windowStart == cachedWindowStart {
            while reused < min(cached.count, items.count - 1), cached[reused] == items[reused] { reused += 1 }
        }
        state.truncate(to: reused)
        // Until this answer succeeds the cache is known to hold only the reused prefix.
        (cached, cachedWindowStart) = (Array(items[..<reused]), windowStart)
        let rest = Array(items[reused...])
        let embeddings = try spliced(rest)

        let generator = Generator(
            decoder: decoder, parameters: parameters, stopSequences: conversation.template.stopSequences(eosID: tokenizer.eosID),
            eosID: tokenizer.eosID)
        // transformers' generate(inputs_embeds=...) starts its input_ids at [BOS] (spec §7b).
        let start = DispatchTime.now().uptimeNanoseconds
        var first = true
        let result = try generator.generate(
            input: embeddings, count: rest.count, sequence: [tokenizer.bosID], state: state, on: context,
            onToken: { id in
                if first {  // the first token arrives right after the prefill
                    progress(.prefill, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    first = false
                }
                onToken(id)
            }, isCancelled: isCancelled)
        cached = items + (result.ids + result.stopIDs).dropLast().map(Item.token)

        let text = try tokenizer.decode(result.ids)
        let answer = Self.postProcess(try tokenizer.decode(result.ids + result.stopIDs), template: conversation.template, roles: conversation.roles)
        conversation.finishAnswer(answer)
        answered = true
        return Answer(
            prompt: prompt, inputIDs: items.map { if case let .token(t) = $0 { t } else { -1 } }, ids: result.ids,
            stopIDs: result.stopIDs, text: text, answer: answer, reusedPositions: reused, prefilledPositions: rest.count,
            generation: result, inputEmbeddings: recordInput ? try spliced(items) : nil)
    }

    /// The embedding rows of `items` (token rows from the table, block rows from the blocks): what
    /// `get_context_emb` concatenates. Cost: one [L, d] copy.
    private func spliced(_ items: [Item]) throws -> [Float] {
        let d = decoder.config.hidden
        var out: [Float] = []
        out.reserveCapacity(items.count * d)
        for item in items {
            switch item {
            case let .token(t): out += try decoder.embed([t])
            case let .block(_, index, row): out += blocks[index][row * d..<(row + 1) * d]
            }
        }
        return out
    }

    /// `Chat.answer`'s post-processing of the decoded output (leading `<unk>`/`<s>` ids never reach it:
    /// `generate`'s leading BOS is not among the new ids): Vicuna cuts at `###` and keeps the text after
    /// the last `Assistant:`; LLaMA-2 cuts at `</s>` and keeps the text after the last `ASSISTANT:`;
    /// then `strip()`.
    public static func postProcess(_ decoded: String, template: PromptTemplate, roles: (user: String, assistant: String)) -> String {
        let cut = template == .llama2 ? "</s>" : "###"
        let head = decoded.components(separatedBy: cut)[0]
        let tail = head.components(separatedBy: roles.assistant + ":").last ?? head
        return tail.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Why a chat turn could not run.
public enum ChatError: RuleError, Equatable {
    /// The prompt's `<ImageHere>` placeholders and the uploaded blocks disagree in number.
    case placeholderCountMismatch(placeholders: Int, blocks: Int)
    /// An upload came with the wrong number of embedding blocks.
    case blockCountMismatch(expected: Int, got: Int)
    /// A block is not whole rows of the LLM's width.
    case blockWidthMismatch(width: Int, values: Int)

    public var detail: String {
        switch self {
        case let .placeholderCountMismatch(p, b): "the prompt has \(p) <ImageHere> placeholders for \(b) embedding blocks"
        case let .blockCountMismatch(e, g): "the upload needs \(e) embedding blocks, got \(g)"
        case let .blockWidthMismatch(w, v): "an embedding block of \(v) values is not whole rows of \(w)"
        }
    }
}
