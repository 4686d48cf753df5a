import FoundationEssentials
import Tokenizer

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
    /// What `messages` cost in the budget's terms (see `ContextBudget`); 0 when there are none.
    public var tokenCount: Int
    /// The encoding the budget was counted in; nil for v1's sum of `token_count`.
    public var encoding: TokenEncoding?
    /// The seq of the oldest message of the run (after the pinned system message, when that was
    /// placed first); nil when the run is empty.
    public var firstSeq: Int?
    public var truncated: Bool
    public var omittedMessages: Int
    public var research: [Research]

    /// The messages chosen, what they cost, whether the pinned message was left out, and the
    /// oldest seq of the run.
    struct Selection {
        var messages: [Message]
        var tokens: Int
        var pinnedLeftOut: Bool
        var firstSeq: Int?
    }

    /// Chooses the messages: the longest run of most recent messages that fits both budgets
    /// (stopping at the first that does not), with the latest system message `pinned` placed
    /// first when it is older than that run — it counts against both budgets, and is left out
    /// when it alone exceeds `maxTokens`. Costs are `budget`'s.
    ///
    /// `recent` is newest first: the newest messages up to both budgets, or the whole session.
    static func select(recent: [Message], pinned: Message?, maxTokens: Int, maxMessages: Int, budget: ContextBudget)
        -> Selection
    {
        // Costs are worked out as the runs reach them: a message not yet counted is tokenized
        // here, and the runs stop at the first message that does not fit.
        var costs: [UUID: Int] = [:]
        func cost(_ message: Message) -> Int {
            if let known = costs[message.id] { return known }
            let cost = budget.cost(of: message)
            costs[message.id] = cost
            return cost
        }
        func longestRun(within tokens: Int, messages limit: Int) -> [Message] {
            var run: [Message] = []
            var spent = 0
            for message in recent {
                guard run.count < limit, spent + cost(message) <= tokens else { break }
                run.append(message)
                spent += cost(message)
            }
            return run
        }
        func selection(_ messages: [Message], run: [Message], pinnedLeftOut: Bool) -> Selection {
            let spent = messages.reduce(0) { $0 + cost($1) }
            return Selection(
                messages: messages, tokens: messages.isEmpty ? 0 : budget.overhead + spent, pinnedLeftOut: pinnedLeftOut,
                firstSeq: run.last?.seq)
        }
        // What the messages may cost once the prompt's own overhead is paid.
        let available = maxTokens - budget.overhead
        let run = longestRun(within: available, messages: maxMessages)
        guard let pinned, !run.contains(where: { $0.id == pinned.id }) else {
            return selection(run.reversed(), run: run, pinnedLeftOut: false)
        }
        guard cost(pinned) <= available else { return selection(run.reversed(), run: run, pinnedLeftOut: true) }
        let shorter = longestRun(within: available - cost(pinned), messages: maxMessages - 1)
        return selection([pinned] + shorter.reversed(), run: shorter, pinnedLeftOut: false)
    }
}

/// What a message costs in a context's budget.
enum ContextBudget {
    /// v1: the message's `token_count`, nothing else.
    case declared
    /// The chat format in `tokenizer`'s encoding, as `POST /db/tokens/count` counts `messages`:
    /// 3 tokens per message plus its role and content, and 3 for the whole prompt.
    case chat(BPETokenizer)

    var encoding: TokenEncoding? {
        switch self {
        case .declared: nil
        case .chat(let tokenizer): tokenizer.encoding
        }
    }

    /// Paid once per prompt that has any message.
    var overhead: Int {
        switch self {
        case .declared: 0
        case .chat: TokenCountService.chatPromptTokens
        }
    }

    func cost(of message: Message) -> Int {
        switch self {
        case .declared:
            return message.tokenCount
        case .chat(let tokenizer):
            // The stored count when there is one; a message not yet backfilled is counted here.
            let content = message.tokens?[tokenizer.encoding] ?? tokenizer.count(message.content)
            return TokenCountService.chatTokens(role: message.role, contentTokens: content, name: nil, tokenizer: tokenizer)
        }
    }
}
