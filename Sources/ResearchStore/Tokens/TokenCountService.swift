import Tokenizer

/// `POST /db/tokens/count`: exact token counts, as OpenAI's tiktoken counts them (text that looks
/// like a special token is ordinary text).
public struct TokenCountService: Sendable {
    public init() {}

    /// What one count was made in, and how many tokens it came to.
    public struct Count: Sendable, Equatable {
        public var encoding: TokenEncoding
        public var tokens: Int
    }

    /// One message of the chat format.
    public struct ChatMessage: Sendable, Equatable {
        public var role: String
        public var content: String
        public var name: String?

        public init(role: String, content: String, name: String? = nil) {
            self.role = role
            self.content = content
            self.name = name
        }
    }

    /// Role and name are short labels, never documents.
    static let labelLength = 1...256
    /// Messages of one counted prompt.
    static let messageCount = 1...10_000

    /// `{"encoding", "text"}` or `{"encoding", "messages": [{"role", "content", "name"?}]}`: one of
    /// the two, never both.
    public func count(body: JSONValue) async throws -> Count {
        var input = InputReader(body)
        let encodingName = input.choice("encoding", of: TokenEncoding.allCases.map(\.rawValue))
        let hasText = body["text"] != nil
        let hasMessages = body["messages"] != nil
        if hasText == hasMessages {
            input.fail(hasText ? "messages" : "text", hasText ? "must not be sent together with text" : "or messages is required")
        }
        let text = hasText ? input.text("text", maximumBytes: Int.max, allowEmpty: true) : nil
        let messages =
            hasMessages && !hasText
            ? input.array("messages", count: Self.messageCount) { reader, item, path in Self.readMessage(item, path: path, input: &reader) }
            : nil
        try input.finish()
        let encoding = TokenEncoding(rawValue: encodingName!)!
        let tokenizer = try Self.tokenizer(encoding)
        if let text {
            return Count(encoding: encoding, tokens: try await CountingThreads.run(bytes: text.utf8.count) { tokenizer.count(text) })
        }
        let bytes = messages!.reduce(0) { $0 + $1.content.utf8.count }
        return Count(
            encoding: encoding, tokens: try await CountingThreads.run(bytes: bytes) { Self.chatTokens(messages!, tokenizer: tokenizer) })
    }

    /// The prompt size of `messages` in the chat format: 3 tokens per message, 1 more per name,
    /// 3 to prime the reply, and the tokens of every role, content and name.
    public static func chatTokens(_ messages: [ChatMessage], tokenizer: BPETokenizer) -> Int {
        messages.reduce(chatPromptTokens) { total, message in
            total + chatTokens(role: message.role, contentTokens: tokenizer.count(message.content), name: message.name, tokenizer: tokenizer)
        }
    }

    /// Tokens the chat format adds once per prompt, to prime the reply.
    static let chatPromptTokens = 3

    /// One message's share of a chat-format prompt, its content already counted.
    static func chatTokens(role: String, contentTokens: Int, name: String?, tokenizer: BPETokenizer) -> Int {
        3 + tokenizer.count(role) + contentTokens + (name.map { 1 + tokenizer.count($0) } ?? 0)
    }

    /// The shared tokenizer of `encoding`; a vocabulary missing from the deployment is the
    /// server's fault (503), never the client's.
    static func tokenizer(_ encoding: TokenEncoding) throws(ServiceError) -> BPETokenizer {
        do {
            return try BPETokenizer.shared(encoding)
        } catch {
            throw ServiceError(.unavailable, "the \(encoding.rawValue) vocabulary is not available on this server")
        }
    }

    static func readMessage(_ value: JSONValue, path: String, input: inout InputReader) -> ChatMessage? {
        guard case .object = value else {
            input.merge([FieldError(field: path, message: "must be an object")])
            return nil
        }
        var fields = InputReader(value, path: path)
        let role = fields.string("role", length: labelLength)
        let content = fields.text("content", maximumBytes: Int.max, allowEmpty: true)
        let name = fields.string("name", required: false, nullable: true, length: labelLength)
        input.merge(fields.errors)
        guard fields.errors.isEmpty, let role, let content else { return nil }
        return ChatMessage(role: role, content: content, name: name)
    }
}
