import Foundation
import Testing
import VLCore

/// `vlpack run` and `vlpack chat` on the whole sample model (both branches and the LLM).
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"), .serialized)
struct ChatCommandTests {
    /// Every sample component converted by the CLI itself.
    static let model: String = {
        let out = "\(VerifyReferenceTests.folder)/sample-all.vlpack"
        try? FileManager.default.createDirectory(atPath: VerifyReferenceTests.folder, withIntermediateDirectories: true)
        let s = "Fixtures/samples/"
        _ = try? CLI.run([
            "convert", s + "eva_vit_g.pth", s + "blip2_pretrained_flant5xxl.pth", s + "VL_tiny.pth", s + "imagebind_huge.pth",
            s + "AL_tiny.pth", s + "llama-hf", "--config", s + "convert-config.json", "-o", out,
        ])
        return out
    }()

    @Test func runPrintsTheJSONOfTheAnswerAndItsStages() throws {
        let r = try CLI.run([
            "run", Self.model, "--video", "Fixtures/media/sample_av.mp4", "--prompt", "What is happening in the video?",
            "--greedy", "--max-new-tokens", "8", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try VerifyReferenceTests.parse(r.stdout)
        let prompt = try #require(json[key: "prompt"]?.string)
        #expect(prompt.hasPrefix("###Human: Close your eyes, open your ears") && prompt.hasSuffix("What is happening in the video?###Assistant:"))
        // 8 audio rows, then 8 video rows (the sample's 8 queries of each branch), spliced as −1.
        let ids = (json[key: "prompt_ids"]?.array ?? []).compactMap(\.int)
        #expect(ids.first == 1 && ids.filter { $0 == -1 }.count == 16)
        #expect((json[key: "ids"]?.array ?? []).count <= 8)
        for key in ["decode_media_s", "vision_s", "audio_s", "prefill_s", "ttft_s", "decode_tokens_per_s", "new_tokens"] {
            #expect(json[key: "timings"]?[key: key] != nil, "\(key)")
        }
        // Time to first token counts every stage before it, not only the prefill.
        let t = { (key: String) in json[key: "timings"]?[key: key]?.double ?? .nan }
        #expect(t("ttft_s") >= t("decode_media_s") + t("vision_s") + t("audio_s") + t("prefill_s"))
        #expect(json[key: "answer"]?.string != nil && json[key: "text"]?.string != nil)
    }

    @Test func runRefusesAnImageWithSoundAndSaysWhenThereIsNoTrack() throws {
        let refused = try CLI.run(["run", Self.model, "--image", "Fixtures/media/image.png", "--audio", "Fixtures/media/tone16k.wav", "--prompt", "Q"])
        #expect(refused.status == 64 && refused.stderr.contains("no template"), "\(refused.stderr)")
        let silent = try CLI.run(["run", Self.model, "--video", "Fixtures/media/hd709.mp4", "--prompt", "Q", "--greedy", "--max-new-tokens", "2", "--json"])
        #expect(silent.status == 0 && silent.stderr.contains("has no audio track: video only"), "\(silent.stderr)")
        #expect(try VerifyReferenceTests.parse(silent.stdout)[key: "prompt"]?.string?.contains("The video contains 8 frames sampled at") == true)
    }

    /// `verify` replays a chat reference of the official Chat class end to end (media decoding
    /// included): the prompt, the spliced ids, the blocks, the logits and the greedy ids.
    @Test(arguments: [("av_vicuna", "--video", "sample_av.mp4"), ("two_turn_llama2_2", "--video", "sample_av.mp4"), ("image", "--image", "image.png")])
    func verifyReplaysTheOfficialChat(name: String, flag: String, media: String) throws {
        let r = try CLI.run([
            "verify", Self.model, "--reference", "Fixtures/reference/sample_chat_\(name).safetensors", flag, "Fixtures/media/\(media)", "--json",
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let chat = try #require(try VerifyReferenceTests.parse(r.stdout)[key: "chat"])
        #expect(chat[key: "pass"]?.bool == true && chat[key: "prompt_equal"]?.bool == true && chat[key: "input_ids_equal"]?.bool == true)
        #expect(chat[key: "greedy_ids"] == chat[key: "expected_greedy_ids"])
        let stages = (chat[key: "stages"]?.array ?? []).compactMap { $0[key: "name"]?.string }
        #expect(stages.contains("llm.logits (chained)"))
        let missing = try CLI.run(["verify", Self.model, "--reference", "Fixtures/reference/sample_chat_\(name).safetensors"])
        #expect(missing.status != 0 && missing.stderr.contains("chatReferenceNeedsMedia"), "\(missing.stderr)")
    }

    /// With quantized weights the replay reports the greedy ids, and after an earlier answer that
    /// came out otherwise (the sample's q4_k_m answers turn 1 differently) the prompt too, instead of
    /// comparing rows that no longer line up.
    @Test func quantizedReplayReportsWhatDependsOnEarlierAnswers() throws {
        let q = "\(VerifyReferenceTests.folder)/sample-all-q4_k_m.vlpack"
        try #require(try CLI.run(["quantize", Self.model, "-o", q, "--type", "q4_k_m"]).status == 0)
        let r = try CLI.run([
            "verify", q, "--reference", "Fixtures/reference/sample_chat_two_turn_2.safetensors", "--video", "Fixtures/media/sample_av.mp4",
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("equal: false REPORT (an earlier quantized answer)"), "\(r.stdout)")
        #expect(r.stdout.contains("REPORT (quantized weights)") && r.stdout.contains("audio.out") && r.stdout.contains("q8_0 PASS"))
    }

    /// Two turns and slash commands through a pipe: both answered, the second reusing the first
    /// turn's cached prefix; /audio, /image, /clear and an unknown command handled.
    @Test func chatRunsATwoTurnConversationFromAPipe() throws {
        let input = """
            What is happening in the video?
            What do you hear?
            /audio off
            /image Fixtures/media/image.png
            Describe it.
            /clear
            /nonsense
            /quit
            never read

            """
        let r = try CLI.run(
            ["chat", Self.model, "--video", "Fixtures/media/sample_av.mp4", "--greedy", "--max-new-tokens", "4"], input: input)
        #expect(r.status == 0, "\(r.stderr)")
        let turns = r.stderr.split(separator: "\n").filter { $0.hasPrefix("prompt ") }
        #expect(turns.count == 3, "\(r.stderr)")
        // The follow-up reuses at least the whole first prompt (203 positions for the sample).
        let reused = turns.map { line in Int(line.split(separator: "(")[1].split(separator: " ")[0]) ?? -1 }
        #expect(reused[0] == 0 && reused[1] >= 203, "\(turns)")
        #expect(r.stderr.contains("sound off from the next /video") && r.stderr.contains("(new conversation)"))
        #expect(r.stderr.contains("unknown command /nonsense"))
        #expect(r.stderr.components(separatedBy: "Received.").count - 1 == 2)
    }
}
