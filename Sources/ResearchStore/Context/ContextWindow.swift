import FoundationEssentials

/// What an LLM needs to continue a session: its most recent messages within a token and a
/// message budget, the pinned system message, and the last completed research.
public struct ContextWindow: Sendable {
    /// A completed research request, as context shows it.
    public struct Research: Sendable, Equatable {
        public var id: UUID
        public var question: String
        public var workflowType: String
        public var result: JSONValue
        public var finishedAt: Date
    }

    public var session: Session
    /// Chronological; the pinned system message first when it precedes the run.
    public var messages: [Message]
    public var tokenCount: Int
    public var truncated: Bool
    public var omittedMessages: Int
    public var research: [Research]

    /// Chooses the messages: the longest run of most recent messages that fits both budgets
    /// (stopping at the first that does not), with the latest system message `pinned` placed
    /// first when it is older than that run — it counts against both budgets, and is left out
    /// when it alone exceeds `maxTokens`.
    ///
    /// `recent` is newest first: the newest messages up to both budgets, or the whole session.
    static func select(recent: [Message], pinned: Message?, maxTokens: Int, maxMessages: Int) -> (
        messages: [Message], tokens: Int, pinnedLeftOut: Bool
    ) {
        let run = longestRun(recent, maxTokens: maxTokens, maxMessages: maxMessages)
        guard let pinned, !run.contains(where: { $0.id == pinned.id }) else {
            return (run.reversed(), run.reduce(0) { $0 + $1.tokenCount }, false)
        }
        guard pinned.tokenCount <= maxTokens else {
            return (run.reversed(), run.reduce(0) { $0 + $1.tokenCount }, true)
        }
        let shorter = longestRun(recent, maxTokens: maxTokens - pinned.tokenCount, maxMessages: maxMessages - 1)
        let tokens = shorter.reduce(pinned.tokenCount) { $0 + $1.tokenCount }
        return ([pinned] + shorter.reversed(), tokens, false)
    }

    private static func longestRun(_ recent: [Message], maxTokens: Int, maxMessages: Int) -> [Message] {
        var run: [Message] = []
        var tokens = 0
        for message in recent {
            guard run.count < maxMessages, tokens + message.tokenCount <= maxTokens else { break }
            run.append(message)
            tokens += message.tokenCount
        }
        return run
    }
}
