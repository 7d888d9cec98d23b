/// A conversation as the official `conversation_video.py` keeps it (spec §5.4): a system prompt,
/// the two roles and the messages so far, rendered by `prompt` exactly as its `get_prompt`, and
/// grown by `ask` / `beginAnswer` / `finishAnswer` exactly as `Chat.ask` / `Chat.answer` do.
///
/// Media enter as user messages holding `<ImageHere>` placeholders (`Upload`); the caller splices an
/// embedding block for each placeholder after tokenizing the text around them.
public struct Conversation: Sendable, Equatable {
    public let template: PromptTemplate
    public var system: String
    /// (role, text); a nil text is the assistant's pending reply.
    public private(set) var messages: [(role: String, text: String?)] = []

    /// The placeholder each embedding block replaces.
    public static let placeholder = "<ImageHere>"

    public init(template: PromptTemplate, system: String? = nil) {
        self.template = template
        self.system = system ?? template.defaultSystem
    }

    public var roles: (user: String, assistant: String) {
        switch template {
        case .raw, .vicuna: ("Human", "Assistant")
        case .llama2: ("USER", "ASSISTANT")
        }
    }

    /// `Chat.ask`: the question joins the last user message with a space when that message is a
    /// video or image upload (it contains `</Video>` or `</Image>`), else it is a new user message.
    public mutating func ask(_ text: String) {
        if let last = messages.last, last.role == roles.user, let upload = last.text,
            upload.contains("</Video>") || upload.contains("</Image>")
        {
            messages[messages.count - 1].text = upload + " " + text
        } else {
            messages.append((roles.user, text))
        }
    }

    /// An upload's user message (`Chat.upload_video` / `upload_img` / `upload_video_without_audio`).
    public mutating func upload(_ upload: Upload) {
        if case .videoWithAudio = upload { system = "" }  // `Chat.upload_video` clears it when it has sound
        messages.append((roles.user, upload.message))
    }

    /// `Chat.answer`'s `append_message(roles[1], None)`: the prompt then ends with the assistant's tag.
    public mutating func beginAnswer() { messages.append((roles.assistant, nil)) }

    /// Drops the pending reply (an answer that failed before it produced text).
    public mutating func cancelAnswer() {
        if let last = messages.last, last.role == roles.assistant, last.text == nil { messages.removeLast() }
    }

    /// Stores the post-processed answer in the pending reply.
    public mutating func finishAnswer(_ text: String) {
        precondition(messages.last?.text == nil, "no pending answer")
        messages[messages.count - 1].text = text
    }

    /// `Conversation.get_prompt()`.
    ///
    /// - vicuna (SINGLE, sep `###`): `system + "###"`, then per message `role + ": " + text + "###"`,
    ///   or `role + ":"` for the pending reply;
    /// - llama2: per user message i `"<s>[INST] " + (i == 0 ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" : "")
    ///   + text + " [/INST]"`, per answer `" " + text + " </s>"`; then `lstrip("<s>")` — Python strips
    ///   the *characters* `<`, `s`, `>` from the left, as the official code does.
    public var prompt: String {
        switch template {
        case .raw:
            return messages.compactMap(\.text).joined()
        case .vicuna:
            var out = system + "###"
            for (role, text) in messages { out += text.map { role + ": " + $0 + "###" } ?? role + ":" }
            return out
        case .llama2:
            var out = ""
            for (i, (_, text)) in messages.enumerated() {
                guard var text else { continue }
                if i == 0 { text = "<<SYS>>\n\(system)\n<</SYS>>\n\n" + text }
                out += i % 2 == 0 ? "<s>" + "[INST] \(text) [/INST]" : " " + text + " " + "</s>"
            }
            return String(out.drop { "<s>".contains($0) })
        }
    }

    public static func == (a: Conversation, b: Conversation) -> Bool {
        a.template == b.template && a.system == b.system && a.messages.elementsEqual(b.messages) { $0.role == $1.role && $0.text == $1.text }
    }

    /// What an upload says, with its placeholders in the order the embedding blocks are spliced.
    public enum Upload: Sendable, Equatable {
        /// Audio block first, then the video block (`Chat.upload_video` with sound).
        case videoWithAudio
        /// `"<Video><ImageHere></Video> " + timestamps sentence` (no sound, or `upload_video_without_audio`).
        case video(timestamps: String)
        /// `"<Image><ImageHere></Image> "`.
        case image

        /// The official text. The audio+video message is one Python literal continued with
        /// backslashes, so it keeps the next lines' indentation: 267 characters with runs of spaces.
        public var message: String {
            switch self {
            case .videoWithAudio:
                "Close your eyes, open your ears and you imagine only based on the sound that: <ImageHere>."
                    + String(repeating: " ", count: 17)
                    + "Close your ears, open your eyes and you see that <Video><ImageHere></Video>."
                    + String(repeating: " ", count: 18)
                    + "Now answer my question based on what you have just seen and heard."
            case let .video(timestamps): "<Video><ImageHere></Video> " + timestamps
            case .image: "<Image><ImageHere></Image> "
            }
        }

        /// The number of embedding blocks it needs.
        public var blocks: Int { self == .videoWithAudio ? 2 : 1 }
    }
}

extension PromptTemplate {
    /// The system prompt of the official conversation object (`default_conversation`: "",
    /// `conv_llava_llama_2`: its helpful-assistant sentence). The demo overrides it per upload
    /// (`Conversation.demoSystem`).
    public var defaultSystem: String {
        switch self {
        case .raw, .vicuna: ""
        case .llama2:
            "You are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language."
        }
    }
}

extension Conversation {
    /// The system prompt `demo_audiovideo.py` sets before an upload: the image sentence for a still
    /// image, "" for a video.
    public static func demoSystem(forImage: Bool) -> String {
        forImage
            ? "You are able to understand the visual content that the user provides. Follow the instructions carefully and explain your answers in detail." : ""
    }
}
