import Foundation
import PostgresPool

/// The audit trail of destructive and administrative actions, for admins.
public struct AuditService: Sendable {
    let store: AuditStore

    public init(pool: PostgresPool) {
        store = AuditStore(pool: pool)
    }

    static let listLimit = Paging(defaultLimit: 50, maximumLimit: 200)

    /// `GET /db/admin/audit?limit=&cursor=`: newest first.
    public func list(caller: Caller, query: [String: String]) async throws -> Page<AuditEntry> {
        var reader = QueryReader(query)
        let limit = reader.limit(Self.listLimit)
        try reader.finish()
        let cursor = try reader.cursor(kind: "audit")
        if let cursor, cursor.name.flatMap(Int64.init) == nil {
            throw ServiceError(.malformed, "cursor was not issued by this server for this list")
        }
        guard caller.isAdmin else { throw ServiceError(.forbidden, "the audit trail needs the admin role") }
        let entries = try await database(table: "audit_log") { try await store.list(after: cursor, limit: limit + 1) }
        return Page(items: entries, limit: limit) {
            Cursor(kind: "audit", position: $0.at.millisecondsSince1970, name: String($0.id))
        }
    }
}
