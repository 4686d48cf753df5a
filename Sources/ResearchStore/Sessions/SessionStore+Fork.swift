import FoundationEssentials
import Postgres

/// The SQL of `POST /db/sessions/{id}/fork`: a new session with copies of the source's first
/// messages. It writes `sessions` and `messages` in one statement, so it lives with the session
/// it creates.
extension SessionStore {
    /// Why a fork was refused for its input.
    enum ForkRefusal: Error { case beyondLastSeq(last: Int) }

    /// Forks `source` (nil when `caller` may not see it): a new session `id` of the same owner,
    /// titled `title` (else the source's), whose metadata is the source's with `forked_from`, and
    /// copies of messages 1…`upToSeq` (default: all) under the same seqs, with `ids` in seq order.
    /// The copies are messages of the new session, stored when it is created (`created_at`).
    func fork(_ source: UUID, caller: Caller, upToSeq: Int?, title: String?, newID: UUID, ids: (Int) -> [UUID]) async throws
        -> Session?
    {
        let counts = try await pool.query(
            """
            SELECT message_count FROM sessions
            WHERE id = \(source) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            """)
        guard let last = try counts.first?.decode(0, as: Int.self) else { return nil }
        // Seqs 1…last exist and never change: messages are only appended (or deleted with their
        // session, which the statement below then does not find).
        let count = upToSeq ?? last
        guard count <= last else { throw ForkRefusal.beyondLastSeq(last: last) }
        let rows = try await pool.query(
            """
            WITH new_session AS (
                INSERT INTO sessions AS s (id, user_id, title, metadata, message_count, total_tokens, last_message_at)
                SELECT \(newID), source.user_id, coalesce(\(title), source.title),
                       source.metadata || jsonb_build_object('forked_from', jsonb_build_object('session_id', source.id, 'seq', \(count))),
                       \(count),
                       (SELECT coalesce(sum(m.token_count), 0) FROM messages m WHERE m.session_id = source.id AND m.seq <= \(count)),
                       CASE WHEN \(count) > 0 THEN date_trunc('milliseconds', now()) END
                FROM sessions source
                WHERE source.id = \(source) AND (\(caller.isAdmin) OR source.user_id = \(caller.userID))
                RETURNING \(unescaped: Session.columns)
            ),
            copied AS (
                INSERT INTO messages
                    (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at,
                     tokens_o200k, tokens_cl100k)
                SELECT given.id, new_session.id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model,
                       m.metadata, new_session.created_at, m.tokens_o200k, m.tokens_cl100k
                FROM new_session
                CROSS JOIN unnest(\(ids(count))) WITH ORDINALITY AS given (id, seq)
                JOIN messages m ON m.session_id = \(source) AND m.seq = given.seq
            )
            SELECT * FROM new_session
            """)
        return try rows.first.map(Session.init(row:))
    }
}
