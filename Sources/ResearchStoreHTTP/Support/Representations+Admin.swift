import FoundationEssentials
import ResearchStore

// How the admin statistics look on the wire.

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

extension ActivityStatistics {
    var json: JSONValue {
        .object([
            ("from", .timestamp(from)),
            ("to", .timestamp(to)),
            (
                "by_day",
                .array(byDay.map { .object([("day", .string($0.day)), ("sessions", .integer($0.sessions)), ("messages", .integer($0.messages))]) })
            ),
            (
                "research",
                .object(
                    Self.researchStatuses.map { status in
                        let figures = researchByStatus[status]
                        return (
                            status,
                            .object([
                                ("count", .integer(figures?.count ?? 0)),
                                (
                                    "duration_ms",
                                    .object([
                                        ("mean", .double(figures?.mean)), ("p50", .double(figures?.p50)), ("p95", .double(figures?.p95)),
                                        ("max", .double(figures?.max)),
                                    ])
                                ),
                            ])
                        )
                    })
            ),
        ])
    }
}
