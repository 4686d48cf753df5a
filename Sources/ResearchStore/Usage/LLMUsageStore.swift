import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `llm_usage`.
struct LLMUsageStore: Sendable {
    let pool: PostgresPool

    /// Why nothing was stored.
    enum Refusal: Error {
        case unknownSession
        case unknownResearch
        case researchOfAnotherSession
    }

    /// Records the call. Linked to a session or research request, the row belongs to their owner
    /// (who must be the caller unless an admin reports it); otherwise to the caller.
    func insert(_ usage: NewLLMUsage, id: UUID, caller: Caller) async throws -> LLMUsage {
        try await pool.withTransaction { connection in
            var owner = caller.userID
            if usage.sessionID != nil || usage.researchID != nil {
                let row = try await connection.query(
                    """
                    SELECT (SELECT user_id FROM sessions
                            WHERE id = \(usage.sessionID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))),
                           (SELECT user_id FROM research_requests
                            WHERE id = \(usage.researchID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))),
                           (SELECT session_id FROM research_requests WHERE id = \(usage.researchID))
                    """)[0]
                let (sessionOwner, researchOwner, researchSession) = try row.decode((String?, String?, UUID?).self)
                if usage.sessionID != nil, sessionOwner == nil { throw Refusal.unknownSession }
                if usage.researchID != nil, researchOwner == nil { throw Refusal.unknownResearch }
                if let sessionID = usage.sessionID, usage.researchID != nil, researchSession != sessionID {
                    throw Refusal.researchOfAnotherSession
                }
                owner = sessionOwner ?? researchOwner ?? owner
            }
            let rows = try await connection.query(
                """
                WITH owner AS (
                    INSERT INTO users (id) VALUES (\(owner)) ON CONFLICT (id) DO NOTHING
                )
                INSERT INTO llm_usage (id, user_id, provider, model, prompt_tokens, completion_tokens, duration_ms,
                                       cost_usd, session_id, research_id, request_id)
                VALUES (\(id), \(owner), \(usage.provider), \(usage.model), \(Int32(usage.promptTokens)),
                        \(Int32(usage.completionTokens)), \(usage.durationMilliseconds), \(usage.costUSD)::numeric,
                        \(usage.sessionID), \(usage.researchID), \(usage.requestID))
                RETURNING \(unescaped: LLMUsage.columns)
                """)
            return try LLMUsage(row: rows[0])
        }
    }

    /// The row if `caller` may see it (its owner, or an admin).
    func find(id: UUID, caller: Caller) async throws -> LLMUsage? {
        let rows = try await pool.query(
            """
            SELECT \(unescaped: LLMUsage.columns) FROM llm_usage
            WHERE id = \(id) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            """)
        return try rows.first.map(LLMUsage.init(row:))
    }

    /// A page of the user's rows for the export, oldest first, after the last row of the previous page.
    static func exportPage(userID: String, after: LLMUsage?, limit: Int, on connection: PostgresConnection) async throws
        -> [LLMUsage]
    {
        try await connection.query(exportPageQuery(userID: userID, after: after.map { ($0.createdAt, $0.id) }, limit: limit))
            .map(LLMUsage.init(row:))
    }

    static func exportPageQuery(userID: String, after: (createdAt: Date, id: UUID)?, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: LLMUsage.columns) FROM llm_usage
        WHERE user_id = \(userID)
          AND (created_at, id) > (coalesce(\(after?.createdAt), '-infinity'), coalesce(\(after?.id), \(unescaped: Keyset.minUUID)))
        ORDER BY created_at, id LIMIT \(limit)
        """
    }

    /// Admin statistics over `[from, to)`: totals and per provider/model in one statement
    /// (grouping sets), latency percentiles by `percentile_cont`.
    static func statisticsQuery(from: Date, to: Date) -> PostgresQuery {
        """
        SELECT grouping(provider, model) AS level, provider, model,
               count(*), coalesce(sum(prompt_tokens), 0)::int8, coalesce(sum(completion_tokens), 0)::int8,
               coalesce(sum(total_tokens), 0)::int8, sum(cost_usd)::text,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)
        FROM llm_usage
        WHERE created_at >= \(from) AND created_at < \(to)
        GROUP BY GROUPING SETS ((), (provider, model))
        ORDER BY level DESC, provider, model
        """
    }
}
