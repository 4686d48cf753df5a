import FoundationEssentials
import Postgres

/// A caller known to the store: first seen when they first wrote something, last seen at their
/// latest activity (a session created or changed, a message stored, an LLM call reported).
public struct User: Sendable, Equatable {
    public var id: String
    public var firstSeen: Date
    public var lastSeen: Date
    public var sessionCount: Int

    static func find(id: String, on connection: PostgresConnection) async throws -> User? {
        let rows = try await connection.query(
            """
            SELECT u.id, u.first_seen,
                   greatest(u.last_seen,
                            (SELECT max(updated_at) FROM sessions WHERE user_id = u.id),
                            (SELECT max(created_at) FROM llm_usage WHERE user_id = u.id)),
                   (SELECT count(*) FROM sessions WHERE user_id = u.id)
            FROM users u WHERE u.id = \(id)
            """)
        return try rows.first.map { row in
            let (id, firstSeen, lastSeen, sessionCount) = try row.decode((String, Date, Date, Int).self)
            return User(id: id, firstSeen: firstSeen, lastSeen: lastSeen, sessionCount: sessionCount)
        }
    }
}
