import Foundation
import Postgres
import PostgresPool

/// Records an admin's read of another user's data (`admin.read`) before the data is handed
/// over: if the entry cannot be written the read fails, so no such read goes unrecorded. A read
/// changes nothing, so there is nothing for the entry to commit together with.
struct AdminReadAudit: Sendable {
    let pool: PostgresPool

    /// Owner given directly, or the owner of `session`; nothing is written for non-admins or
    /// when the admin reads their own data.
    func record(_ caller: Caller, targetType: String, targetID: String, owner: String? = nil, session: UUID? = nil) async throws {
        guard caller.isAdmin, owner != caller.userID else { return }
        _ = try await database(table: "audit_log") {
            try await pool.query(
                """
                INSERT INTO audit_log (actor_user_id, action, target_type, target_id, details)
                SELECT \(caller.userID), 'admin.read', \(targetType), \(targetID), jsonb_build_object('owner', o.owner)
                FROM (SELECT coalesce(\(owner)::text, (SELECT user_id FROM sessions WHERE id = \(session))) AS owner) o
                WHERE o.owner IS NOT NULL AND o.owner <> \(caller.userID)
                """)
        }
    }
}
