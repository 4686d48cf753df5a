import FoundationEssentials
import Postgres
import PostgresPool

/// Records an admin's read of another user's data (`admin.read`) in the read's own round trip:
/// the entry is queued behind the read's statements on their connection, so it commits before
/// the data is handed over, and the read fails if it cannot be written. Nothing is written for
/// non-admins, for the admin's own data, or when the target does not exist.
struct AdminReadAudit: Sendable {
    let pool: PostgresPool

    /// The data a read touches, by what the request names; its owner is looked up in SQL.
    enum Target {
        case user(String)
        case session(UUID)
        case message(UUID)
        case research(UUID)
        case llmUsage(UUID)
        case feedback(UUID)
    }

    /// Runs `read`; when `caller` is an admin, on one connection with the entry queued to follow it.
    func reading<Result: Sendable>(
        _ caller: Caller, _ target: Target, _ read: () async throws -> Result
    ) async throws -> Result {
        guard caller.isAdmin else { return try await read() }
        if case .user(let owner) = target, owner == caller.userID { return try await read() }
        return try await pool.withPinnedConnection { connection in
            try await connection.sendAfterNextStatements(Self.entry(actor: caller.userID, target: target))
            return try await read()
        }
    }

    /// The entry, written only when the target exists and belongs to someone other than `actor`.
    static func entry(actor: String, target: Target) -> PostgresQuery {
        let (type, key, owner) = target.parts
        return """
            WITH target (key) AS (SELECT \(key)::text)
            INSERT INTO audit_log (actor_user_id, action, target_type, target_id, details)
            SELECT \(actor), 'admin.read', \(type), target.key, jsonb_build_object('owner', o.owner)
            FROM target, LATERAL (\(unescaped: owner)) o (owner)
            WHERE o.owner IS NOT NULL AND o.owner <> \(actor)
            """
    }
}

extension AdminReadAudit.Target {
    /// The entry's `target_type`, its `target_id`, and the query of the owner (given `target.key`).
    var parts: (type: String, key: String, owner: StaticString) {
        switch self {
        case .user(let id):
            ("user", id, "SELECT id FROM users WHERE id = target.key")
        case .session(let id):
            ("session", id.lowercased, "SELECT user_id FROM sessions WHERE id = target.key::uuid")
        case .message(let id):
            (
                "message", id.lowercased,
                "SELECT s.user_id FROM messages m JOIN sessions s ON s.id = m.session_id WHERE m.id = target.key::uuid"
            )
        case .research(let id):
            ("research", id.lowercased, "SELECT user_id FROM research_requests WHERE id = target.key::uuid")
        case .llmUsage(let id):
            ("llm_usage", id.lowercased, "SELECT user_id FROM llm_usage WHERE id = target.key::uuid")
        case .feedback(let id):
            ("feedback", id.lowercased, "SELECT user_id FROM feedback WHERE id = target.key::uuid")
        }
    }
}
