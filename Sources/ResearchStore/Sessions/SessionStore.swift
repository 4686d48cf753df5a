import Foundation
import Postgres
import PostgresPool

/// The SQL of the `sessions` table (and the `users` row a session needs).
struct SessionStore: Sendable {
    let pool: PostgresPool

    /// Creates the session, registering its owner on first sight, in one statement. `DO NOTHING`
    /// takes no lock on an existing user, so one user's creates do not queue behind each other.
    func create(id: UUID, userID: String, title: String, metadata: JSONValue) async throws -> Session {
        let rows = try await pool.query(
            """
            WITH owner AS (
                INSERT INTO users (id) VALUES (\(userID)) ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO sessions (id, user_id, title, metadata)
            VALUES (\(id), \(userID), \(title), \(PostgresRawJSON(metadata.serialized)))
            RETURNING \(unescaped: Session.columns)
            """)
        return try Session(row: rows[0])
    }

    /// The session if it exists and `caller` may see it.
    func find(id: UUID, caller: Caller) async throws -> Session? {
        let rows = try await pool.query(
            """
            SELECT \(unescaped: Session.columns) FROM sessions
            WHERE id = \(id) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            """)
        return try rows.first.map(Session.init(row:))
    }

    /// Applies the given changes (nil = keep) and bumps `updated_at`.
    func update(id: UUID, caller: Caller, title: String?, status: String?, metadata: JSONValue?) async throws
        -> Session?
    {
        let rows = try await pool.query(
            """
            UPDATE sessions SET
                title = coalesce(\(title), title),
                status = coalesce(\(status), status),
                metadata = coalesce(\(metadata.map { PostgresRawJSON($0.serialized) }), metadata),
                updated_at = greatest(date_trunc('milliseconds', now()), updated_at)
            WHERE id = \(id) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            RETURNING \(unescaped: Session.columns)
            """)
        return try rows.first.map(Session.init(row:))
    }

    /// Deletes the session; its messages, research requests and events go with it (cascades).
    /// The audit entry (who deleted whose session, and how many messages) commits with it.
    func delete(id: UUID, caller: Caller) async throws -> Bool {
        try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                DELETE FROM sessions WHERE id = \(id) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
                RETURNING user_id, message_count
                """)
            guard let row = rows.first else { return false }
            let (owner, messages) = try row.decode((String, Int).self)
            try await AuditStore.record(
                on: connection, actor: caller, action: "session.delete", targetType: "session", targetID: id.lowercased,
                details: .object([("owner", .string(owner)), ("messages", .number(String(messages)))]))
            return true
        }
    }

    /// Most recently updated first, ties by id; `after` is the last item of the previous page.
    func list(userID: String?, status: String?, after: (after: Date, id: UUID)?, limit: Int) async throws -> [Session] {
        let afterTime = after?.after
        let rows = try await pool.query(
            """
            SELECT \(unescaped: Session.columns) FROM sessions
            WHERE (\(userID)::text IS NULL OR user_id = \(userID))
              AND (\(status)::text IS NULL OR status = \(status))
              AND (\(afterTime)::timestamptz IS NULL OR (updated_at, id) < (\(afterTime), \(after?.id)))
            ORDER BY updated_at DESC, id DESC
            LIMIT \(limit)
            """)
        return try rows.map(Session.init(row:))
    }

    /// A page of the user's sessions for the export, in the list's order (most recently updated
    /// first), after the last session of the previous page.
    static func exportPage(userID: String, after: Session?, limit: Int, on connection: PostgresConnection) async throws
        -> [Session]
    {
        try await connection.query(
            """
            SELECT \(unescaped: Session.columns) FROM sessions
            WHERE user_id = \(userID)
              AND (\(after?.updatedAt)::timestamptz IS NULL OR (updated_at, id) < (\(after?.updatedAt), \(after?.id)))
            ORDER BY updated_at DESC, id DESC
            LIMIT \(limit)
            """
        ).map(Session.init(row:))
    }
}
