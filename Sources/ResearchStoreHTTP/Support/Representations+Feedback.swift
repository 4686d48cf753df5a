import FoundationEssentials
import ResearchStore

// How a rating looks on the wire.

extension Feedback {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("user_id", .string(userID)),
            ("target_type", .string(targetType)),
            ("target_id", .string(targetID.lowercased)),
            ("rating", .integer(rating)),
            ("comment", comment.map(JSONValue.string) ?? .null),
            ("created_at", .timestamp(createdAt)),
            ("updated_at", .timestamp(updatedAt)),
        ])
    }
}
