import Foundation
import Testing
import VLCore
import VLTokenizer

/// Multi-turn prompts against the official conversation code (Fixtures/generation/conversations.json,
/// written by generate_conversations.py from conversation_video.py's own `Conversation`, `Chat.ask`
/// and upload messages): Vicuna and LLaMA-2, with sound, video only, a still image, text only.
@Suite struct ConversationTests {
    static let fixture: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/generation/conversations.json")
        return try! Data(contentsOf: url).withUnsafeBytes { try JSONValue.parse($0) }
    }()

    @Test func audioVideoMessageIsTheOfficialLiteral() {
        #expect(Conversation.Upload.videoWithAudio.message == Self.fixture[key: "audio_video_message"]?.string)
        #expect(Conversation.Upload.videoWithAudio.message.count == 267)
    }

    @Test func everyCaseAndTurnRendersAsTheOfficialGetPrompt() throws {
        let timestamps = try #require(Self.fixture[key: "timestamps"]?.string)
        let cases = try #require(Self.fixture[key: "cases"]?.array)
        #expect(cases.count == 8)
        for c in cases {
            let template = try #require(c[key: "template"]?.string.flatMap(PromptTemplate.init(rawValue:)))
            let upload = try #require(c[key: "upload"]?.string)
            var conversation = Conversation(template: template, system: c[key: "system"]?.string)
            switch upload {
            case "av": conversation.upload(.videoWithAudio)
            case "video": conversation.upload(.video(timestamps: timestamps))
            case "image": conversation.upload(.image)
            default: break
            }
            let prompts = (c[key: "prompts"]?.array ?? []).compactMap(\.string)
            let turns = c[key: "turns"]?.array ?? []
            #expect(prompts.count == turns.count && !prompts.isEmpty)
            for (turn, want) in zip(turns, prompts) {
                let pair = (turn.array ?? []).compactMap(\.string)
                conversation.ask(pair[0])
                conversation.beginAnswer()
                #expect(conversation.prompt == want, "\(template.rawValue) \(upload)")
                conversation.finishAnswer(pair[1])
            }
        }
    }

    @Test func placeholdersMatchTheUploadsBlocks() {
        for upload in [Conversation.Upload.videoWithAudio, .video(timestamps: "x"), .image] {
            #expect(upload.message.components(separatedBy: Conversation.placeholder).count - 1 == upload.blocks)
        }
    }
}
