import Foundation
import Postgres
import PostgresPool

/// The SQL of the `messages` table.
struct MessageStore: Sendable {
    let pool: PostgresPool

    /// Why nothing was stored.
    enum Refusal: Error { case notFound, archived }

    /// Appends `messages` to the session in one statement: the session's row is locked by the
    /// `UPDATE` that advances its counters, and the new `seq` values follow the old count, so
    /// concurrent writers (in any number of processes) never share or skip a number. All or nothing.
    func append(_ messages: [NewMessage], to sessionID: UUID, caller: Caller) async throws -> [Message] {
        let count = messages.count
        let tokens = messages.reduce(Int64(0)) { $0 + Int64($1.tokenCount) }
        let stored = try await pool.query(
            """
            WITH target AS (
                UPDATE sessions SET
                    message_count = message_count + \(count),
                    total_tokens = total_tokens + \(tokens),
                    updated_at = greatest(date_trunc('milliseconds', now()), updated_at),
                    last_message_at = greatest(date_trunc('milliseconds', now()), created_at)
                WHERE id = \(sessionID) AND status = 'active'
                  AND (\(caller.isAdmin) OR user_id = \(caller.userID))
                RETURNING id, message_count - \(count) AS base, last_message_at
            )
            INSERT INTO messages AS m
                (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at)
            SELECT new.id, target.id, target.base + new.position, new.role, new.content, new.token_count,
                   new.estimated, nullif(new.model, ''), new.metadata, target.last_message_at
            FROM target,
                 unnest(\(messages.map(\.id)), \(messages.map(\.role)), \(messages.map(\.content)),
                        \(messages.map { Int64($0.tokenCount) }), \(messages.map(\.tokenCountEstimated)),
                        \(messages.map { $0.model ?? "" }), \(messages.map { PostgresRawJSON($0.metadata.serialized) }))
                 WITH ORDINALITY AS new (id, role, content, token_count, estimated, model, metadata, position)
            RETURNING \(unescaped: Message.columns)
            """)
        guard stored.count == count else { throw try await refusal(sessionID: sessionID, caller: caller) }
        return try stored.map(Message.init(row:)).sorted { $0.seq < $1.seq }
    }

    /// Tells an unknown (or invisible) session from an archived one, after a refused append.
    private func refusal(sessionID: UUID, caller: Caller) async throws -> Refusal {
        let rows = try await pool.query(
            """
            SELECT status FROM sessions
            WHERE id = \(sessionID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            """)
        return rows.isEmpty ? .notFound : .archived
    }

    func find(id: UUID, caller: Caller) async throws -> Message? {
        let rows = try await pool.query(
            """
            SELECT \(unescaped: Message.columns) FROM messages m JOIN sessions s ON s.id = m.session_id
            WHERE m.id = \(id) AND (\(caller.isAdmin) OR s.user_id = \(caller.userID))
            """)
        return try rows.first.map(Message.init(row:))
    }

    /// A page of the session's messages by `seq`; nil when the session is not visible. The
    /// visibility check and the page travel together, in one round trip (a pipeline).
    func page(sessionID: UUID, caller: Caller, ascending: Bool, afterSeq: Int?, limit: Int) async throws -> [Message]? {
        let page: PostgresQuery =
            ascending
            ? """
            SELECT \(unescaped: Message.columns) FROM messages m
            WHERE m.session_id = \(sessionID) AND m.seq > \(afterSeq ?? 0)
            ORDER BY m.seq ASC LIMIT \(limit)
            """
            : """
            SELECT \(unescaped: Message.columns) FROM messages m
            WHERE m.session_id = \(sessionID) AND m.seq < \(afterSeq ?? Int(Int32.max))
            ORDER BY m.seq DESC LIMIT \(limit)
            """
        let results = try await pool.withConnection { connection in
            try await connection.pipeline([
                "SELECT 1 FROM sessions WHERE id = \(sessionID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))",
                page,
            ])
        }
        guard !results[0].isEmpty else { return nil }
        return try results[1].map(Message.init(row:))
    }

    /// A page of a session's messages for the export, by `seq`, after `afterSeq`.
    static func exportPage(sessionID: UUID, afterSeq: Int, limit: Int, on connection: PostgresConnection) async throws
        -> [Message]
    {
        try await connection.query(
            """
            SELECT \(unescaped: Message.columns) FROM messages m
            WHERE m.session_id = \(sessionID) AND m.seq > \(afterSeq)
            ORDER BY m.seq LIMIT \(limit)
            """
        ).map(Message.init(row:))
    }
}
