import FoundationEssentials
import PostgresPool

extension MessageStore {
    /// The next messages of a session stream: after `afterSeq`, in seq order, at most `limit`,
    /// and no more than fit in `maximumBytes` of content (always at least one), so a stream of
    /// large messages holds a bounded page while its client reads. Nil when the session is not
    /// visible to the caller (deleted meanwhile).
    func streamPage(sessionID: UUID, caller: Caller, afterSeq: Int, limit: Int, maximumBytes: Int) async throws -> [Message]? {
        let results = try await pool.withConnection { connection in
            try await connection.pipeline([
                "SELECT 1 FROM sessions WHERE id = \(sessionID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))",
                """
                SELECT \(unescaped: Message.columns) FROM (
                    SELECT m.*, sum(octet_length(m.content)) OVER (ORDER BY m.seq) - octet_length(m.content) AS bytes_before
                    FROM messages m
                    WHERE m.session_id = \(sessionID) AND m.seq > \(afterSeq)
                    ORDER BY m.seq LIMIT \(limit)
                ) m
                WHERE m.bytes_before < \(maximumBytes)
                ORDER BY m.seq
                """,
            ])
        }
        guard !results[0].isEmpty else { return nil }
        return try results[1].map(Message.init(row:))
    }
}
