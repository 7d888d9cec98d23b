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

    /// One turn: `message` from the user, the assistant's reply pending. `system` is the system prompt.
    ///
    /// - vicuna: `system + "###" + "Human: " + message + "###" + "Assistant:"`;
    /// - llama2: `"<s>" + "[INST] " + "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + message + " [/INST]"`, then
    ///   the leading `<`, `s`, `>` characters stripped (the tokenizer adds BOS instead), as the official
    ///   `get_prompt` does.
    public func prompt(message: String, system: String = "") -> String {
        switch self {
        case .raw:
            return message
        case .vicuna:
            return system + "###" + "Human: " + message + "###" + "Assistant:"
        case .llama2:
            let first = "<s>" + "[INST] " + "<<SYS>>\n\(system)\n<</SYS>>\n\n" + message + " [/INST]"
            return String(first.drop { "<s>".contains($0) })
        }
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
