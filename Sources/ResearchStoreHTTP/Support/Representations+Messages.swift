import Foundation
import ResearchStore

// How a message looks on the wire.

extension Message {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("session_id", .string(sessionID.lowercased)),
            ("seq", .integer(seq)),
            ("role", .string(role)),
            ("content", .string(content)),
            ("token_count", .integer(tokenCount)),
            ("token_count_estimated", .bool(tokenCountEstimated)),
            ("model", model.map(JSONValue.string) ?? .null),
            ("metadata", metadata),
            ("created_at", .timestamp(createdAt)),
        ])
    }
}
