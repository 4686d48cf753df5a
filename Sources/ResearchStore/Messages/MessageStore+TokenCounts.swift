import FoundationEssentials
import Postgres

/// The SQL of `research-store tokens backfill`: messages stored without exact counts, and their counts.
extension MessageStore {
    /// How many messages have no exact counts yet.
    func uncountedCount() async throws -> Int {
        let rows = try await pool.query(
            "SELECT count(*) FROM messages WHERE tokens_o200k IS NULL OR tokens_cl100k IS NULL")
        return try rows.first?.decode(0, as: Int.self) ?? 0
    }

    /// Up to `limit` uncounted messages after `afterID`, by id (the primary key's order, so each
    /// page is an index range and a rerun walks past what is counted without sorting).
    func uncounted(after afterID: UUID?, limit: Int) async throws -> [(id: UUID, content: String)] {
        let rows = try await pool.query(
            """
            SELECT id, content FROM messages
            WHERE id > \(afterID ?? UUID.lowest) AND (tokens_o200k IS NULL OR tokens_cl100k IS NULL)
            ORDER BY id LIMIT \(limit)
            """)
        return try rows.map { row in
            let (id, content) = try row.decode((UUID, String).self)
            return (id, content)
        }
    }

    /// Stores the counts of messages that are still uncounted (one statement, one commit) and
    /// says how many it stored: a message deleted meanwhile, or counted by someone else, is left
    /// alone. Only the two count columns change; `token_count` stays what was stored.
    func setTokens(_ counts: [(id: UUID, tokens: MessageTokens)]) async throws -> Int {
        let rows = try await pool.query(
            """
            WITH counted AS (
                UPDATE messages m SET tokens_o200k = given.o200k, tokens_cl100k = given.cl100k
                FROM unnest(\(counts.map(\.id)), \(counts.map { Int64($0.tokens.o200kBase) }),
                            \(counts.map { Int64($0.tokens.cl100kBase) })) AS given (id, o200k, cl100k)
                WHERE m.id = given.id AND (m.tokens_o200k IS NULL OR m.tokens_cl100k IS NULL)
                RETURNING 1
            )
            SELECT count(*) FROM counted
            """)
        return try rows.first?.decode(0, as: Int.self) ?? 0
    }
}

extension UUID {
    /// The nil UUID: below every other id.
    fileprivate static let lowest = UUID(uuidString: "00000000-0000-0000-0000-000000000000")!
}
