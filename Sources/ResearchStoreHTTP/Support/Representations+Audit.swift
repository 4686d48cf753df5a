import FoundationEssentials
import ResearchStore

// How an audit entry looks on the wire.

extension AuditEntry {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("at", .timestamp(at)),
            ("actor_user_id", actorUserID.map(JSONValue.string) ?? .null),
            ("action", .string(action)),
            ("target_type", .string(targetType)),
            ("target_id", targetID.map(JSONValue.string) ?? .null),
            ("details", details),
        ])
    }
}
