import FoundationEssentials
import ResearchStore

// How a research request looks on the wire.

extension ResearchRequest {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("session_id", .string(sessionID.lowercased)),
            ("question", .string(question)),
            ("workflow_type", .string(workflowType)),
            ("parameters", parameters),
            ("status", .string(status)),
            ("result", result ?? .null),
            ("error", error.map(JSONValue.string) ?? .null),
            ("sources", .array(sources.map(JSONValue.string))),
            ("created_at", .timestamp(createdAt)),
            ("started_at", .timestamp(startedAt)),
            ("finished_at", .timestamp(finishedAt)),
            ("duration_ms", durationMilliseconds.map { .integer($0) } ?? .null),
            ("history", .array(history.map { .object([("status", .string($0.status)), ("at", .timestamp($0.at))]) })),
        ])
    }
}
