/// The conversation templates of the official `conversation_video.py` (spec §5.4), their stop ids
/// (spec §5.5: the literal ids of the official code, not recomputed from a tokenizer) and their
/// default system prompts.
public enum PromptTemplate: String, Sendable, CaseIterable {
    /// One segment with BOS and no template.
    case raw
    /// Vicuna v0 (`default_conversation`): SINGLE style, roles `Human`/`Assistant`, separator `###`.
    case vicuna
    /// LLaMA-2-Chat (`conv_llava_llama_2`): `[INST] <<SYS>>…<</SYS>> … [/INST]`, separators `<s>`/`</s>`.
    case llama2

    /// One turn: `message` from the user, the assistant's reply pending, rendered as the official
    /// `get_prompt` does (`Conversation.prompt`). `system` is the system prompt.
    public func prompt(message: String, system: String = "") -> String {
        guard self != .raw else { return message }
        var conversation = Conversation(template: self, system: system)
        conversation.ask(message)
        conversation.beginAnswer()
        return conversation.prompt
    }

    /// Generation ends when the new ids end with one of these (Vicuna: `▁###` or `##` `#`;
    /// LLaMA-2: `</s>`). `raw` stops at the model's end-of-sequence id.
    public func stopSequences(eosID: Int) -> [[Int]] {
        switch self {
        case .raw: [[eosID]]
        case .vicuna: [[835], [2277, 29937]]
        case .llama2: [[2]]
        }
    }
}
