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
            ("attempt", .integer(attempt)),
            ("worker_id", workerID.map(JSONValue.string) ?? .null),
            ("lease_expires_at", .timestamp(leaseExpiresAt)),
            ("history", .array(history.map(\.json))),
        ])
    }
}

extension ResearchRequest.StatusChange {
    /// `{"status", "at"}`, and `"reason"` when the store itself made the change.
    var json: JSONValue {
        var members: [(String, JSONValue)] = [("status", .string(status)), ("at", .timestamp(at))]
        if let reason { members.append(("reason", .string(reason))) }
        return .object(members)
    }
}
