import Testing
import VLTokenizer

/// The one-turn prompts of the official `conversation_video.py`, as spec §5.4 transcribes its
/// `get_prompt` (SINGLE style for Vicuna; LLAMA_2 style with `<s>` stripped for LLaMA-2), and the
/// official stop ids of spec §5.5.
@Suite struct PromptTemplateTests {
    @Test func vicunaOneTurn() {
        #expect(
            PromptTemplate.vicuna.prompt(message: "Describe the video.")
                == "###Human: Describe the video.###Assistant:")
        let system = "You are able to understand the visual content that the user provides."
        #expect(PromptTemplate.vicuna.prompt(message: "Q", system: system) == system + "###Human: Q###Assistant:")
        #expect(PromptTemplate.vicuna.stopSequences(eosID: 2) == [[835], [2277, 29937]])
    }

    @Test func llama2OneTurn() {
        // The demo's empty system: the first turn starts "[INST] <<SYS>>\n\n<</SYS>>\n\n".
        #expect(
            PromptTemplate.llama2.prompt(message: "Describe the video.")
                == "[INST] <<SYS>>\n\n<</SYS>>\n\nDescribe the video. [/INST]")
        #expect(
            PromptTemplate.llama2.prompt(message: "Q", system: "Be brief.")
                == "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nQ [/INST]")
        #expect(PromptTemplate.llama2.stopSequences(eosID: 2) == [[2]])
    }

    @Test func rawIsTheMessage() {
        #expect(PromptTemplate.raw.prompt(message: " text ") == " text ")
        #expect(PromptTemplate.raw.stopSequences(eosID: 7) == [[7]])
    }
}
