import FoundationEssentials
import Postgres
import PostgresPool
import Tokenizer

/// `GET /db/context/{session_id}?max_tokens=&max_messages=&encoding=`.
public struct ContextService: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let defaultMaxTokens = 4000
    static let defaultMaxMessages = 50
    static let maxTokensRange: ClosedRange<Int> = 1...10_000_000
    static let maxMessagesRange: ClosedRange<Int> = 1...1000

    public func context(caller: Caller, sessionID: String, query: [String: String]) async throws -> ContextWindow {
        var reader = QueryReader(query)
        let maxTokens = reader.integer("max_tokens", in: Self.maxTokensRange, default: Self.defaultMaxTokens)
        let maxMessages = reader.integer("max_messages", in: Self.maxMessagesRange, default: Self.defaultMaxMessages)
        let encoding = reader.choice("encoding", of: TokenEncoding.allCases.map(\.rawValue)).flatMap(TokenEncoding.init(rawValue:))
        try reader.finish()
        let budget = try encoding.map { ContextBudget.chat(try TokenCountService.tokenizer($0)) } ?? .declared
        return try await lookUp("session", id: sessionID, table: "messages") { id in
            try await AdminReadAudit(pool: pool).reading(caller, .session(id)) {
                try await load(sessionID: id, caller: caller, maxTokens: maxTokens, maxMessages: maxMessages, budget: budget)
            }
        }
    }

    /// The most recent messages whose running cost stays within `maxTokens`, newest first: in
    /// v1 terms the sum of `token_count`; in an encoding a lower bound of each message's chat cost
    /// (3, its role's 1 token, and its content's stored count, 0 when not yet counted), so no
    /// message the exact choice could keep stays behind.
    private static func recentMessages(sessionID id: UUID, maxTokens: Int, maxMessages: Int, budget: ContextBudget)
        -> PostgresQuery
    {
        let cost: StaticString =
            switch budget.encoding {
            case nil: "m.token_count"
            case .o200kBase: "4 + coalesce(m.tokens_o200k, 0)"
            case .cl100kBase: "4 + coalesce(m.tokens_cl100k, 0)"
            }
        return """
            SELECT \(unescaped: Message.columns) FROM (
                SELECT m.*, sum(\(unescaped: cost)) OVER (ORDER BY m.seq DESC) AS tokens_so_far
                FROM messages m WHERE m.session_id = \(id) ORDER BY m.seq DESC LIMIT \(maxMessages)
            ) m
            WHERE m.tokens_so_far <= \(maxTokens - budget.overhead) ORDER BY m.seq DESC
            """
    }

    /// Reads the session, its most recent messages within both budgets (the longest run any
    /// choice can use), the pinned system message and the completed
    /// research in one round trip (a pipeline) and from one snapshot (a repeatable-read
    /// transaction), so the session's counters agree with the messages read.
    private func load(sessionID id: UUID, caller: Caller, maxTokens: Int, maxMessages: Int, budget: ContextBudget) async throws
        -> ContextWindow?
    {
        let pipelined = try await pool.withConnection { connection in
            try await connection.pipeline([
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                """
                SELECT \(unescaped: Session.columns) FROM sessions
                WHERE id = \(id) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
                """,
                // Only messages inside the token budget travel: a running sum, newest first.
                Self.recentMessages(sessionID: id, maxTokens: maxTokens, maxMessages: maxMessages, budget: budget),
                """
                SELECT \(unescaped: Message.columns) FROM messages m
                WHERE m.session_id = \(id) AND m.role = 'system' ORDER BY m.seq DESC LIMIT 1
                """,
                """
                SELECT id, question, workflow_type, result, finished_at FROM research_requests
                WHERE session_id = \(id) AND status = 'completed'
                ORDER BY finished_at DESC, id DESC LIMIT 5
                """,
                "COMMIT",
            ])
        }
        let results = Array(pipelined.dropFirst())  // BEGIN's empty result first

        // The session row decides visibility: the other statements read nothing it does not allow.
        guard let sessionRow = results[0].first else { return nil }
        let session = try Session(row: sessionRow)
        let recent = try results[1].map(Message.init(row:))
        let pinned = try results[2].first.map(Message.init(row:))
        let chosen = ContextWindow.select(
            recent: recent, pinned: pinned, maxTokens: maxTokens, maxMessages: maxMessages, budget: budget)
        let research = try results[3].map { row in
            let (id, question, workflowType, result, finishedAt) = try row.decode(
                (UUID, String, String, PostgresRawJSON, Date).self)
            return ContextWindow.Research(
                id: id, question: question, workflowType: workflowType, result: .raw(result.text), finishedAt: finishedAt)
        }
        let omitted = max(0, session.messageCount - chosen.messages.count)
        return ContextWindow(
            session: session, messages: chosen.messages, tokenCount: chosen.tokens, encoding: budget.encoding,
            firstSeq: chosen.firstSeq, truncated: omitted > 0 || chosen.pinnedLeftOut, omittedMessages: omitted,
            research: research)
    }
}
