import FoundationEssentials
import ResearchStore

// How a session looks on the wire.

extension Session {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("user_id", .string(userID)),
            ("title", .string(title)),
            ("status", .string(status)),
            ("metadata", metadata),
            ("message_count", .integer(messageCount)),
            ("total_tokens", .integer(totalTokens)),
            ("created_at", .timestamp(createdAt)),
            ("updated_at", .timestamp(updatedAt)),
            ("last_message_at", .timestamp(lastMessageAt)),
        ])
    }
}
