import Foundation
import ResearchStore

/// Wire shapes of LLM usage, feedback, admin statistics, domain sets, users and the audit trail.
extension LLMUsage {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("user_id", .string(userID)),
            ("provider", .string(provider)),
            ("model", .string(model)),
            ("prompt_tokens", .integer(promptTokens)),
            ("completion_tokens", .integer(completionTokens)),
            ("total_tokens", .integer(totalTokens)),
            ("duration_ms", .double(durationMilliseconds)),
            ("cost_usd", costUSD.map(JSONValue.number) ?? .null),
            ("session_id", sessionID.map { .string($0.lowercased) } ?? .null),
            ("research_id", researchID.map { .string($0.lowercased) } ?? .null),
            ("request_id", requestID.map(JSONValue.string) ?? .null),
            ("created_at", .timestamp(createdAt)),
        ])
    }
}

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

extension DomainSet {
    var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("description", .string(description)),
            ("domains", .array(domains.map(JSONValue.string))),
            ("metadata", metadata),
            ("created_at", .timestamp(createdAt)),
            ("updated_at", .timestamp(updatedAt)),
        ])
    }
}

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

extension FeedbackStatistics {
    var json: JSONValue {
        .object([
            ("from", .timestamp(from)),
            ("to", .timestamp(to)),
            ("count", .integer(total.count)),
            ("mean_rating", .double(total.meanRating)),
            ("distribution", .object((1...5).map { (String($0), .integer(distribution[$0] ?? 0)) })),
            (
                "by_target_type",
                .object(
                    Feedback.targetTypes.map { type in
                        let group = byTargetType[type]
                        return (type, .object([("count", .integer(group?.count ?? 0)), ("mean_rating", .double(group?.meanRating))]))
                    })
            ),
        ])
    }
}

extension TelemetryStatistics {
    var json: JSONValue {
        .object([
            ("from", .timestamp(from)),
            ("to", .timestamp(to)),
            ("total", .integer(total)),
            ("by_event_type", .array(byEventType.map { .object([("event_type", .string($0.eventType)), ("count", .integer($0.count))]) })),
        ])
    }
}

extension LLMStatistics {
    var json: JSONValue {
        .object([
            ("from", .timestamp(from)),
            ("to", .timestamp(to)),
            ("totals", .object(Self.members(totals))),
            (
                "by_model",
                .array(byModel.map { .object([("provider", .string($0.provider)), ("model", .string($0.model))] + Self.members($0.figures)) })
            ),
        ])
    }

    private static func members(_ figures: Figures) -> [(key: String, value: JSONValue)] {
        [
            ("calls", .integer(figures.calls)),
            ("prompt_tokens", .integer(figures.promptTokens)),
            ("completion_tokens", .integer(figures.completionTokens)),
            ("total_tokens", .integer(figures.totalTokens)),
            ("cost_usd", figures.costUSD.map(JSONValue.number) ?? .null),
            ("duration_ms", .object([("p50", .double(figures.p50)), ("p95", .double(figures.p95)), ("p99", .double(figures.p99))])),
        ]
    }
}
