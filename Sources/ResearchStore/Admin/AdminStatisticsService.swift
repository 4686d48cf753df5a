import FoundationEssentials
import Postgres
import PostgresPool

/// Admin statistics: each answered by the database in one set-based statement over a time
/// window (`from`/`to`, default the last 24 h), percentiles by `percentile_cont`.
public struct AdminStatisticsService: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// The longest window a statistic may span.
    static let maximumWindowDays = 366.0

    /// `GET /db/admin/stats/feedback?from=&to=`.
    public func feedback(caller: Caller, query: [String: String]) async throws -> FeedbackStatistics {
        let (from, to) = try window(query, caller: caller)
        let rows = try await database(table: "feedback") { try await pool.query(FeedbackStore.statisticsQuery(from: from, to: to)) }
        var statistics = FeedbackStatistics(
            from: from, to: to, total: .init(count: 0, meanRating: nil),
            distribution: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, 0) }),
            byTargetType: Dictionary(uniqueKeysWithValues: Feedback.targetTypes.map { ($0, .init(count: 0, meanRating: nil)) }))
        for row in rows {
            let (level, targetType, rating, count, mean) = try row.decode((Int, String?, Int?, Int, Double?).self)
            switch (level, targetType, rating) {
            case (3, _, _): statistics.total = .init(count: count, meanRating: mean)
            case (1, let type?, _): statistics.byTargetType[type] = .init(count: count, meanRating: mean)
            case (2, _, let rating?): statistics.distribution[rating] = count
            default: break
            }
        }
        return statistics
    }

    /// `GET /db/admin/stats/telemetry?from=&to=`.
    public func telemetry(caller: Caller, query: [String: String]) async throws -> TelemetryStatistics {
        let (from, to) = try window(query, caller: caller)
        let rows = try await database(table: "analytics_events") {
            try await pool.query(AnalyticsStore.telemetryQuery(from: from, to: to))
        }
        var statistics = TelemetryStatistics(from: from, to: to, total: 0, byEventType: [])
        for row in rows {
            let (level, eventType, count) = try row.decode((Int, String?, Int).self)
            if level == 1 { statistics.total = count } else if let eventType { statistics.byEventType.append((eventType, count)) }
        }
        return statistics
    }

    /// `GET /db/admin/stats/llm?from=&to=`.
    public func llm(caller: Caller, query: [String: String]) async throws -> LLMStatistics {
        let (from, to) = try window(query, caller: caller)
        let rows = try await database(table: "llm_usage") { try await pool.query(LLMUsageStore.statisticsQuery(from: from, to: to)) }
        var statistics = LLMStatistics(
            from: from, to: to,
            totals: .init(calls: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, costUSD: nil, p50: nil, p95: nil, p99: nil),
            byModel: [])
        for row in rows {
            let (level, provider, model) = try row.decode((Int, String?, String?).self)
            let (calls, prompt, completion, total, cost, p50, p95, p99) = try row.decode(
                (Int, Int64, Int64, Int64, String?, Double?, Double?, Double?).self, from: 3)
            let figures = LLMStatistics.Figures(
                calls: calls, promptTokens: prompt, completionTokens: completion, totalTokens: total,
                costUSD: cost.map(DecimalText.trimmed), p50: p50, p95: p95, p99: p99)
            if level == 3 {
                statistics.totals = figures
            } else if let provider, let model {
                statistics.byModel.append(.init(provider: provider, model: model, figures: figures))
            }
        }
        return statistics
    }

    /// Reads `from`/`to` (validation first, then the admin check).
    private func window(_ query: [String: String], caller: Caller) throws -> (from: Date, to: Date) {
        var reader = QueryReader(query)
        let (from, to) = reader.window(maximumDays: Self.maximumWindowDays)
        try reader.finish()
        guard caller.isAdmin else { throw ServiceError(.forbidden, "admin statistics need the admin role") }
        return (from, to)
    }
}
