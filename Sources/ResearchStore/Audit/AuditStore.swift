import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `audit_log`. Entries are written on the connection of the action they record,
/// inside its transaction, so an action and its entry commit (or vanish) together.
struct AuditStore: Sendable {
    let pool: PostgresPool

    static func record(
        on connection: PostgresConnection, actor: Caller, action: String, targetType: String, targetID: String?,
        details: JSONValue = .object([])
    ) async throws {
        try await connection.query(
            """
            INSERT INTO audit_log (id, actor_user_id, action, target_type, target_id, details)
            VALUES (\(UUIDv7.make()), \(actor.userID), \(action), \(targetType), \(targetID), \(PostgresRawJSON(details.serialized)))
            """)
    }

    /// Newest first, ties by id; `after` is the last entry of the previous page.
    func list(after: (after: Date, id: UUID)?, limit: Int) async throws -> [AuditEntry] {
        try await pool.query(Self.listQuery(after: after, limit: limit)).map(AuditEntry.init(row:))
    }

    /// The first page starts below (+infinity, …): the keyset stays an index condition of
    /// `audit_log_at_idx` in a generic plan too (see `Keyset`).
    static func listQuery(after: (after: Date, id: UUID)?, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: AuditEntry.columns) FROM audit_log
        WHERE (at, id) < (coalesce(\(after?.after), 'infinity'), coalesce(\(after?.id), \(unescaped: Keyset.maxUUID)))
        ORDER BY at DESC, id DESC
        LIMIT \(limit)
        """
    }
}
