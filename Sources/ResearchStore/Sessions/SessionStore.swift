import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of the `sessions` table (and the `users` row a session needs).
struct SessionStore: Sendable {
    let pool: PostgresPool

    /// Creates the session, registering its owner on first sight, in one statement. `DO NOTHING`
    /// takes no lock on an existing user, so one user's creates do not queue behind each other.
    /// Creates the sessions in one statement, their owners registered first (in id order, so
    /// concurrent groups do not deadlock on a new owner); returns them in the order given.
    func createEach(_ sessions: [NewSession]) async throws -> [Session] {
        let rows = try await pool.query(
            """
            WITH item AS (
                SELECT * FROM unnest(
                    \(sessions.map(\.id)), \(sessions.map(\.userID)), \(sessions.map(\.title)),
                    \(sessions.map { PostgresRawJSON($0.metadata.serialized) }))
                WITH ORDINALITY AS given (id, user_id, title, metadata, position)
            ),
            owner AS (
                INSERT INTO users (id) SELECT DISTINCT user_id FROM item ORDER BY user_id ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO sessions (id, user_id, title, metadata)
            SELECT id, user_id, title, metadata FROM item ORDER BY position
            RETURNING \(unescaped: Session.columns)
            """)
        let created = Dictionary(uniqueKeysWithValues: try rows.map { row in try Session(row: row) }.map { ($0.id, $0) })
        return try sessions.map { new in
            guard let session = created[new.id] else {
                throw PostgresError(code: .protocolViolation, message: "a created session was not returned")
            }
            return session
        }
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
    ///
    /// One statement per access path, so that even a generic plan (a prepared statement after
    /// five runs) keeps its index: a filter written `($1 IS NULL OR user_id = $1)` cannot be an
    /// index condition and would walk every session. The first page starts after (+infinity, …),
    /// which keeps the keyset an index condition too.
    func list(userID: String?, status: String?, after: (after: Date, id: UUID)?, limit: Int) async throws -> [Session] {
        try await pool.query(Self.listQuery(userID: userID, status: status, after: after, limit: limit)).map(Session.init(row:))
    }

    static func listQuery(userID: String?, status: String?, after: (after: Date, id: UUID)?, limit: Int) -> PostgresQuery {
        let afterTime = after?.after
        let afterID = after?.id
        if let userID {
            // One user's sessions are few: a status filter on top of sessions_user_updated_idx.
            return """
                SELECT \(unescaped: Session.columns) FROM sessions
                WHERE user_id = \(userID)
                  AND (\(status)::text IS NULL OR status = \(status))
                  AND (updated_at, id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
                ORDER BY updated_at DESC, id DESC
                LIMIT \(limit)
                """
        } else if status == "archived" {
            // The minority: sessions_archived_updated_idx (partial).
            return """
                SELECT \(unescaped: Session.columns) FROM sessions
                WHERE status = 'archived'
                  AND (updated_at, id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
                ORDER BY updated_at DESC, id DESC
                LIMIT \(limit)
                """
        } else {
            // Everything, or the active majority: sessions_updated_idx.
            return """
                SELECT \(unescaped: Session.columns) FROM sessions
                WHERE (\(status)::text IS NULL OR status = \(status))
                  AND (updated_at, id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
                ORDER BY updated_at DESC, id DESC
                LIMIT \(limit)
                """
        }
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
              AND (updated_at, id) < (coalesce(\(after?.updatedAt), 'infinity'), coalesce(\(after?.id), \(unescaped: Keyset.maxUUID)))
            ORDER BY updated_at DESC, id DESC
            LIMIT \(limit)
            """
        ).map(Session.init(row:))
    }
}
