import FoundationEssentials
import ResearchStore

// How analytics events and their aggregates look on the wire.

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

extension AnalyticsEvent {
    var json: JSONValue {
        .object([
            ("id", .integer(id)),
            ("user_id", .string(userID)),
            ("session_id", sessionID.map { .string($0.lowercased) } ?? .null),
            ("event_type", .string(eventType)),
            ("properties", properties),
            ("duration_ms", .double(durationMilliseconds)),
            ("occurred_at", .timestamp(occurredAt)),
            ("received_at", .timestamp(receivedAt)),
        ])
    }
}
