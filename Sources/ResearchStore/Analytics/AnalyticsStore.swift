import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `analytics_events` (and the per-session figures that read several tables).
struct AnalyticsStore: Sendable {
    let pool: PostgresPool

    /// Why nothing was stored.
    struct UnknownSession: Error {
        /// Index of the first event naming a session the caller may not see.
        var index: Int
    }

    /// Inserts all events in one transaction, or none: each event is owned by its session's owner
    /// (or by the caller when it names no session). One statement per batch: the rows travel as
    /// arrays and are unnested by the server.
    func insert(_ events: [NewEvent], caller: Caller) async throws -> Int {
        let sessionIDs = Array(Set(events.compactMap(\.sessionID)))
        return try await pool.withTransaction { connection in
            var owners: [UUID: String] = [:]
            if !sessionIDs.isEmpty {
                let rows = try await connection.query(
                    """
                    SELECT id, user_id FROM sessions
                    WHERE id = ANY(\(sessionIDs)) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
                    """)
                for row in rows {
                    let (id, owner) = try row.decode((UUID, String).self)
                    owners[id] = owner
                }
                if let index = events.firstIndex(where: { $0.sessionID.map { owners[$0] == nil } ?? false }) {
                    throw UnknownSession(index: index)
                }
            }
            let userIDs = events.map { event in event.sessionID.flatMap { owners[$0] } ?? caller.userID }
            try await connection.query(
                """
                INSERT INTO users (id) SELECT DISTINCT unnest(\(Array(Set(userIDs))))
                ON CONFLICT (id) DO NOTHING
                """)
            let noDuration = -1.0
            let inserted = try await connection.query(
                """
                INSERT INTO analytics_events (user_id, session_id, event_type, properties, duration_ms, occurred_at)
                SELECT raw.user_id, nullif(raw.session_id, '')::uuid, raw.event_type, raw.properties,
                       nullif(raw.duration_ms, \(noDuration)),
                       coalesce(nullif(raw.occurred_at, '')::timestamptz, date_trunc('milliseconds', now()))
                FROM unnest(
                    \(userIDs), \(events.map { $0.sessionID?.lowercased ?? "" }),
                    \(events.map(\.eventType)), \(events.map { PostgresRawJSON($0.properties.serialized) }),
                    \(events.map { $0.durationMilliseconds ?? noDuration }),
                    \(events.map { $0.occurredAt.map(Timestamp.format) ?? "" })
                ) AS raw (user_id, session_id, event_type, properties, duration_ms, occurred_at)
                """)
            return inserted.affectedRows
        }
    }

    func summary(
        owner: String?, from: Date, to: Date, eventType: String?, bucket: String
    ) async throws -> (types: [AnalyticsSummary.EventType], buckets: [AnalyticsSummary.Bucket]) {
        let results = try await pool.withConnection { connection in
            try await connection.pipeline(Self.summaryQueries(owner: owner, from: from, to: to, eventType: eventType, bucket: bucket))
        }
        let types = try results[0].map { row in
            let (type, count, p50, p95, p99) = try row.decode((String, Int, Double?, Double?, Double?).self)
            return AnalyticsSummary.EventType(eventType: type, count: count, p50: p50, p95: p95, p99: p99)
        }
        let buckets = try results[1].map { row in
            let (start, type, count) = try row.decode((Date, String, Int).self)
            return AnalyticsSummary.Bucket(start: start, eventType: type, count: count)
        }
        return (types, buckets)
    }

    /// The summary's two statements (per event type, per bucket and type), written per leading
    /// filter so that even a generic plan reads the index of that filter: the caller's events
    /// (`analytics_events_user_occurred_idx`), one event type (`…_type_occurred_idx`), or all
    /// (`…_occurred_idx`). `($1 IS NULL OR user_id = $1)` cannot be an index condition.
    static func summaryQueries(owner: String?, from: Date, to: Date, eventType: String?, bucket: String) -> [PostgresQuery] {
        if let owner {
            return [
                """
                SELECT event_type, count(*),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)
                FROM analytics_events
                WHERE user_id = \(owner) AND occurred_at >= \(from) AND occurred_at < \(to)
                  AND (\(eventType)::text IS NULL OR event_type = \(eventType))
                GROUP BY event_type ORDER BY event_type
                """,
                """
                SELECT date_trunc(\(bucket), occurred_at, 'UTC') AS start, event_type, count(*)
                FROM analytics_events
                WHERE user_id = \(owner) AND occurred_at >= \(from) AND occurred_at < \(to)
                  AND (\(eventType)::text IS NULL OR event_type = \(eventType))
                GROUP BY 1, 2 ORDER BY 1, 2
                """,
            ]
        }
        if let eventType {
            return [
                """
                SELECT event_type, count(*),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)
                FROM analytics_events
                WHERE event_type = \(eventType) AND occurred_at >= \(from) AND occurred_at < \(to)
                GROUP BY event_type ORDER BY event_type
                """,
                """
                SELECT date_trunc(\(bucket), occurred_at, 'UTC') AS start, event_type, count(*)
                FROM analytics_events
                WHERE event_type = \(eventType) AND occurred_at >= \(from) AND occurred_at < \(to)
                GROUP BY 1, 2 ORDER BY 1, 2
                """,
            ]
        }
        return [
            """
            SELECT event_type, count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)
            FROM analytics_events
            WHERE occurred_at >= \(from) AND occurred_at < \(to)
            GROUP BY event_type ORDER BY event_type
            """,
            """
            SELECT date_trunc(\(bucket), occurred_at, 'UTC') AS start, event_type, count(*)
            FROM analytics_events
            WHERE occurred_at >= \(from) AND occurred_at < \(to)
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
        ]
    }

    /// One session's figures in one statement; nil when the session is not visible.
    func sessionFigures(sessionID: UUID, caller: Caller) async throws -> SessionAnalytics? {
        let rows = try await pool.query(
            """
            SELECT s.total_tokens,
                   (SELECT count(*) FILTER (WHERE role = 'user') FROM messages WHERE session_id = s.id),
                   (SELECT count(*) FILTER (WHERE role = 'assistant') FROM messages WHERE session_id = s.id),
                   (SELECT count(*) FILTER (WHERE role = 'system') FROM messages WHERE session_id = s.id),
                   (SELECT count(*) FILTER (WHERE role = 'tool') FROM messages WHERE session_id = s.id),
                   r.pending, r.running, r.completed, r.failed, r.cancelled, r.mean_duration,
                   u.calls, u.prompt_tokens, u.completion_tokens, u.cost,
                   (SELECT count(*) FROM analytics_events WHERE session_id = s.id)
            FROM sessions s
            CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
                       count(*) FILTER (WHERE status = 'running') AS running,
                       count(*) FILTER (WHERE status = 'completed') AS completed,
                       count(*) FILTER (WHERE status = 'failed') AS failed,
                       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                       avg(duration_ms)::float8 AS mean_duration
                FROM research_requests WHERE session_id = s.id
            ) r
            CROSS JOIN LATERAL (
                SELECT count(*) AS calls, coalesce(sum(prompt_tokens), 0)::int8 AS prompt_tokens,
                       coalesce(sum(completion_tokens), 0)::int8 AS completion_tokens, sum(cost_usd)::float8 AS cost
                FROM llm_usage WHERE session_id = s.id
            ) u
            WHERE s.id = \(sessionID) AND (\(caller.isAdmin) OR s.user_id = \(caller.userID))
            """)
        guard let row = rows.first else { return nil }
        let roles = ["user", "assistant", "system", "tool"]
        let statuses = ["pending", "running", "completed", "failed", "cancelled"]
        var messages: [String: Int] = [:]
        for (index, role) in roles.enumerated() { messages[role] = try row.decode(1 + index, as: Int.self) }
        var research: [String: Int] = [:]
        for (index, status) in statuses.enumerated() { research[status] = try row.decode(5 + index, as: Int.self) }
        return SessionAnalytics(
            sessionID: sessionID, messages: messages, totalTokens: try row.decode(0, as: Int64.self), research: research,
            meanResearchDurationMilliseconds: try row.decode(10, as: Double?.self), llmCalls: try row.decode(11, as: Int.self),
            promptTokens: try row.decode(12, as: Int64.self), completionTokens: try row.decode(13, as: Int64.self),
            costUSD: try row.decode(14, as: Double?.self), events: try row.decode(15, as: Int.self))
    }

    /// Admin telemetry over `[from, to)`: the total and the count per event type in one
    /// statement (grouping sets), an index-only range scan of `analytics_events_occurred_idx`.
    static func telemetryQuery(from: Date, to: Date) -> PostgresQuery {
        """
        SELECT grouping(event_type) AS level, event_type, count(*)
        FROM analytics_events
        WHERE occurred_at >= \(from) AND occurred_at < \(to)
        GROUP BY GROUPING SETS ((), (event_type))
        ORDER BY level DESC, count(*) DESC, event_type
        """
    }

    /// A page of the user's events for the export, by `(occurred_at, id)`.
    static func exportPage(userID: String, after: AnalyticsEvent?, limit: Int, on connection: PostgresConnection)
        async throws -> [AnalyticsEvent]
    {
        try await connection.query(
            """
            SELECT \(unescaped: AnalyticsEvent.columns) FROM analytics_events
            WHERE user_id = \(userID)
              AND (occurred_at, id) > (coalesce(\(after?.occurredAt), '-infinity'), coalesce(\(after?.id), 0))
            ORDER BY occurred_at, id LIMIT \(limit)
            """
        ).map(AnalyticsEvent.init(row:))
    }
}
