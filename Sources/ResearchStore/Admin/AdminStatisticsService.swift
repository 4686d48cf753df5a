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

    /// `GET /db/admin/stats/activity?from=&to=`: sessions and messages created per UTC day (every
    /// day the window touches, zeros included) and research requests created in the window by
    /// status, with mean and percentiles of `duration_ms`. Two statements, each ranging over the
    /// tables' BRIN indexes on `created_at` (migration 006).
    public func activity(caller: Caller, query: [String: String]) async throws -> ActivityStatistics {
        let (from, to) = try window(query, caller: caller)
        let dayRows = try await database(table: "messages") { try await pool.query(Self.activityByDayQuery(from: from, to: to)) }
        var statistics = ActivityStatistics(
            from: from, to: to, byDay: [],
            researchByStatus: Dictionary(
                uniqueKeysWithValues: ActivityStatistics.researchStatuses.map { ($0, .init(count: 0, mean: nil, p50: nil, p95: nil, max: nil)) }))
        for row in dayRows {
            let (day, sessions, messages) = try row.decode((String, Int, Int).self)
            statistics.byDay.append(.init(day: day, sessions: sessions, messages: messages))
        }
        let researchRows = try await database(table: "research_requests") {
            try await pool.query(Self.activityResearchQuery(from: from, to: to))
        }
        for row in researchRows {
            let (status, count, mean, p50, p95, max) = try row.decode((String, Int, Double?, Double?, Double?, Double?).self)
            statistics.researchByStatus[status] = .init(count: count, mean: mean, p50: p50, p95: p95, max: max)
        }
        return statistics
    }

    /// Sessions and messages created per UTC day of the window (static so that a test can look at its plan).
    static func activityByDayQuery(from: Date, to: Date) -> PostgresQuery {
        """
        WITH days AS (
            SELECT d::date AS day
            FROM generate_series(
                (\(from)::timestamptz AT TIME ZONE 'UTC')::date,
                ((\(to)::timestamptz - interval '1 millisecond') AT TIME ZONE 'UTC')::date,
                interval '1 day') AS d
        ), s AS (
            SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
            FROM sessions WHERE created_at >= \(from) AND created_at < \(to) GROUP BY 1
        ), m AS (
            SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
            FROM messages WHERE created_at >= \(from) AND created_at < \(to) GROUP BY 1
        )
        SELECT to_char(days.day, 'YYYY-MM-DD'), coalesce(s.n, 0)::int8, coalesce(m.n, 0)::int8
        FROM days LEFT JOIN s USING (day) LEFT JOIN m USING (day)
        ORDER BY days.day
        """
    }

    /// Research requests created in the window, by status, with their durations.
    static func activityResearchQuery(from: Date, to: Date) -> PostgresQuery {
        """
        SELECT status, count(*)::int8, avg(duration_ms)::float8,
            (percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms))::float8,
            (percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms))::float8,
            max(duration_ms)::float8
        FROM research_requests
        WHERE created_at >= \(from) AND created_at < \(to)
        GROUP BY status
        """
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
