import Foundation
import ResearchStore

/// How the service's models look on the wire: snake_case keys, RFC 3339 millisecond timestamps.
extension JSONValue {
    static func timestamp(_ date: Date?) -> JSONValue {
        date.map { .string(Timestamp.format($0)) } ?? .null
    }

    static func integer<Number: BinaryInteger>(_ value: Number) -> JSONValue { .number(String(value)) }

    static func page<Item>(_ page: Page<Item>, _ item: (Item) -> JSONValue) -> JSONValue {
        .object([("items", .array(page.items.map(item))), ("next_cursor", page.nextCursor.map(JSONValue.string) ?? .null)])
    }
}

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

extension ContextWindow {
    var json: JSONValue {
        .object([
            ("session", session.json),
            ("messages", .array(messages.map(\.json))),
            ("token_count", .integer(tokenCount)),
            ("truncated", .bool(truncated)),
            ("omitted_messages", .integer(omittedMessages)),
            (
                "research",
                .array(
                    research.map {
                        .object([
                            ("id", .string($0.id.lowercased)),
                            ("question", .string($0.question)),
                            ("workflow_type", .string($0.workflowType)),
                            ("result", $0.result),
                            ("finished_at", .timestamp($0.finishedAt)),
                        ])
                    })
            ),
        ])
    }
}

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

extension JSONValue {
    static func double(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)")
    }
}

extension AnalyticsSummary {
    var json: JSONValue {
        .object([
            ("from", .timestamp(from)),
            ("to", .timestamp(to)),
            ("bucket", .string(bucket)),
            (
                "event_types",
                .array(
                    eventTypes.map {
                        .object([
                            ("event_type", .string($0.eventType)),
                            ("count", .integer($0.count)),
                            ("duration_ms", .object([("p50", .double($0.p50)), ("p95", .double($0.p95)), ("p99", .double($0.p99))])),
                        ])
                    })
            ),
            (
                "buckets",
                .array(
                    buckets.map {
                        .object([("start", .timestamp($0.start)), ("event_type", .string($0.eventType)), ("count", .integer($0.count))])
                    })
            ),
        ])
    }
}

extension SessionAnalytics {
    var json: JSONValue {
        .object([
            ("session_id", .string(sessionID.lowercased)),
            ("messages", .object(["user", "assistant", "system", "tool"].map { ($0, .integer(messages[$0] ?? 0)) })),
            ("total_tokens", .integer(totalTokens)),
            (
                "research",
                .object(
                    ["pending", "running", "completed", "failed", "cancelled"].map { ($0, JSONValue.integer(research[$0] ?? 0)) }
                        + [("mean_duration_ms", .double(meanResearchDurationMilliseconds))])
            ),
            (
                "llm_usage",
                .object([
                    ("calls", .integer(llmCalls)), ("prompt_tokens", .integer(promptTokens)),
                    ("completion_tokens", .integer(completionTokens)), ("cost_usd", .double(costUSD)),
                ])
            ),
            ("events", .integer(events)),
        ])
    }
}
