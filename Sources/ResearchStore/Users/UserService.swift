import FoundationEssentials
import PostgresPool

/// A user's record, the export of all their data, and its erasure. Each is for the user
/// themselves or an admin; anyone else, or a user with no data, gets `404`.
public struct UserService: Sendable {
    let store: UserStore
    let pool: PostgresPool
    let exports: ExportGate

    /// The limits exports run under.
    public var exportLimits: ExportLimits { exports.limits }

    public init(pool: PostgresPool, exports: ExportGate) {
        store = UserStore(pool: pool)
        self.pool = pool
        self.exports = exports
    }

    /// `GET /db/users/{id}`.
    public func get(caller: Caller, id: String) async throws -> User {
        try checkAccess(caller, to: id)
        let user = try await database(table: "users") {
            try await AdminReadAudit(pool: pool).reading(caller, .user(id)) { try await store.find(id: id) }
        }
        guard let user else { throw ServiceError.notFound("user") }
        return user
    }

    /// `GET /db/users/{id}/export`: checks that the user is there and visible, then returns the
    /// export to stream (it is read while it is written, on a connection of the export pool).
    /// `503` when `ExportLimits.maximumConcurrent` exports are already streaming.
    public func export(caller: Caller, id: String) async throws -> UserExport {
        let slot = try exports.enter()
        _ = try await get(caller: caller, id: id)
        return UserExport(pool: exports.pool, userID: id, slot: slot)
    }

    /// `DELETE /db/users/{id}`: erases everything of the user in one transaction and records the
    /// erasure (counts, no data) in the audit trail.
    @discardableResult
    public func erase(caller: Caller, id: String) async throws -> ErasureCounts {
        try checkAccess(caller, to: id)
        let counts = try await database(table: "users") { try await store.erase(id: id, actor: caller) }
        guard let counts else { throw ServiceError.notFound("user") }
        return counts
    }

    private func checkAccess(_ caller: Caller, to id: String) throws {
        guard Caller.isValidUserID(id), caller.isAdmin || caller.userID == id else { throw ServiceError.notFound("user") }
    }
}
