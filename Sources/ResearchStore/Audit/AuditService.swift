import FoundationEssentials
import PostgresPool

/// The audit trail of destructive and administrative actions, for admins.
public struct AuditService: Sendable {
    let store: AuditStore
    let cursors: CursorSigner

    public init(pool: PostgresPool, cursors: CursorSigner) {
        store = AuditStore(pool: pool)
        self.cursors = cursors
    }

    static let listLimit = Paging(defaultLimit: 50, maximumLimit: 200)

    /// `GET /db/admin/audit?limit=&cursor=`: newest first.
    public func list(caller: Caller, query: [String: String]) async throws -> Page<AuditEntry> {
        var reader = QueryReader(query)
        let limit = reader.limit(Self.listLimit)
        try reader.finish()
        let cursor = try reader.timeCursor(kind: "audit", signer: cursors)
        guard caller.isAdmin else { throw ServiceError(.forbidden, "the audit trail needs the admin role") }
        let entries = try await database(table: "audit_log") { try await store.list(after: cursor, limit: limit + 1) }
        return Page(items: entries, limit: limit, signer: cursors) {
            Cursor(kind: "audit", position: $0.at.millisecondsSince1970, id: $0.id)
        }
    }
}
