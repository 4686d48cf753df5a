import FoundationEssentials
import ResearchStore

// How a user's record looks on the wire.

extension User {
    var json: JSONValue {
        .object([
            ("id", .string(id)),
            ("first_seen", .timestamp(firstSeen)),
            ("last_seen", .timestamp(lastSeen)),
            ("session_count", .integer(sessionCount)),
        ])
    }
}
