import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `users`, and the erasure that removes a user's rows from every table.
struct UserStore: Sendable {
    let pool: PostgresPool

    func find(id: String) async throws -> User? {
        try await pool.withConnection { try await User.find(id: id, on: $0) }
    }

    /// Erases the user in one transaction: the `users` row is locked (writes that would add rows
    /// for the user wait, then fail their foreign key), every table's rows are counted for the
    /// audit entry, and one `DELETE` removes the user, cascading through every table that holds
    /// or mentions them (sessions, messages, research and its history, analytics events, LLM
    /// usage, feedback, idempotency records, cache entries they wrote). Nil when there was no user.
    func erase(id: String, actor: Caller) async throws -> ErasureCounts? {
        try await pool.withTransaction { connection in
            let locked = try await connection.query("SELECT 1 FROM users WHERE id = \(id) FOR UPDATE")
            guard !locked.isEmpty else { return nil }
            let tables = [
                "sessions", "messages", "research_requests", "analytics_events", "llm_usage", "feedback",
                "idempotency_keys", "result_cache",
            ]
            let row = try await connection.query(
                """
                SELECT (SELECT count(*) FROM sessions WHERE user_id = \(id)),
                       (SELECT count(*) FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.user_id = \(id)),
                       (SELECT count(*) FROM research_requests WHERE user_id = \(id)),
                       (SELECT count(*) FROM analytics_events WHERE user_id = \(id)),
                       (SELECT count(*) FROM llm_usage WHERE user_id = \(id)),
                       (SELECT count(*) FROM feedback WHERE user_id = \(id)),
                       (SELECT count(*) FROM idempotency_keys WHERE user_id = \(id)),
                       (SELECT count(*) FROM result_cache WHERE created_by = \(id))
                """)[0]
            let counts = try ErasureCounts(counts: tables.enumerated().map { ($1, try row.decode($0, as: Int.self)) })
            try await connection.query("DELETE FROM users WHERE id = \(id)")
            try await AuditStore.record(
                on: connection, actor: actor, action: "user.erase", targetType: "user", targetID: id,
                details: .object(counts.counts.map { ($0.table, .number(String($0.rows))) }))
            return counts
        }
    }
}
