import FoundationEssentials
import Postgres

/// One destructive or administrative action: who did what to whom. Holds identifiers and small
/// facts (row counts, names), never content or credentials.
public struct AuditEntry: Sendable, Equatable {
    public var id: UUID
    public var at: Date
    /// Nil for the system's own actions.
    public var actorUserID: String?
    public var action: String
    public var targetType: String
    public var targetID: String?
    public var details: JSONValue

    static let columns: StaticString = "id, at, actor_user_id, action, target_type, target_id, details"

    init(row: PostgresRow) throws {
        let (id, at, actor, action, targetType, targetID, details) = try row.decode(
            (UUID, Date, String?, String, String, String?, PostgresRawJSON).self)
        self.init(
            id: id, at: at, actorUserID: actor, action: action, targetType: targetType, targetID: targetID,
            details: .raw(details.text))
    }

    public init(
        id: UUID, at: Date, actorUserID: String?, action: String, targetType: String, targetID: String?, details: JSONValue
    ) {
        self.id = id
        self.at = at
        self.actorUserID = actorUserID
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.details = details
    }
}
