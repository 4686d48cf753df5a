import Foundation
import Postgres
@testable import ResearchStore
import TestSupport
import Testing

/// The list statements keep their index under a generic plan: PostgreSQL switches a prepared
/// statement to one after five runs, and a generic plan cannot simplify `($1 IS NULL OR col = $1)`
/// away, so such a filter never becomes an index condition.
///
/// The tables are filled inside a transaction that is rolled back (a few seconds, nothing left
/// for other tests), analysed there, and every statement is prepared by the wrapper, as the
/// service prepares it, then explained with `plan_cache_mode = force_generic_plan`.
@Suite("Generic plans of the list queries")
struct GenericPlanTests {
    struct Expectation {
        var label: String
        var query: PostgresQuery
        var table: String
        /// The index the statement is written for; `alternatives` are also fine.
        var index: String
        var alternatives: [String] = []
        /// A column the keyset compares, which must be part of the index condition (not a filter).
        var keysetColumn: String?
    }

    /// The nodes of an `EXPLAIN (FORMAT JSON)` plan, flattened.
    static func nodes(_ plan: Any) -> [[String: Any]] {
        guard let node = plan as? [String: Any] else { return [] }
        return [node] + ((node["Plans"] as? [Any]) ?? []).flatMap(nodes)
    }

    /// The generic plan of `query` as the wrapper prepares it: run once (so it is prepared on this
    /// connection), then `EXPLAIN EXECUTE` of that statement. A generic plan does not depend on
    /// the values, so NULLs stand in for them.
    static func genericPlan(of query: PostgresQuery, on connection: PostgresConnection) async throws -> [[String: Any]] {
        try await connection.query(query)
        let name = try await connection.query("SELECT name FROM pg_prepared_statements WHERE statement = \(query.sql)")[0]
            .decode(0, as: String.self)
        let arguments = Array(repeating: "NULL", count: query.bindings.count).joined(separator: ", ")
        let text = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) EXECUTE \(name)(\(arguments))"))[0]
            .decode(0, as: String.self)
        let plan = try #require((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])?.first?["Plan"])
        return nodes(plan)
    }

    /// Users, sessions, research requests, events, usage, feedback, audit entries and domain
    /// sets, spread as in a real deployment (many users, a minority of archived sessions).
    static func seed(_ prefix: String, on connection: PostgresConnection) async throws {
        let statements: [PostgresQuery] = [
            "INSERT INTO users (id) SELECT \(prefix) || i FROM generate_series(1, 1000) i",
            """
            INSERT INTO sessions (id, user_id, title, status, created_at, updated_at)
            SELECT gen_random_uuid(), \(prefix) || (i % 1000 + 1), 's', CASE WHEN i % 50 = 0 THEN 'archived' ELSE 'active' END, at, at
            FROM (SELECT i, timestamptz '2023-01-01 00:00Z' + i * interval '10 minutes' AS at FROM generate_series(1, 40000) i) t
            """,
            """
            INSERT INTO research_requests (id, session_id, user_id, question, workflow_type, created_at)
            SELECT gen_random_uuid(), id, user_id, 'q', 'flow-' || (row_number() OVER () % 20), created_at
            FROM sessions WHERE user_id LIKE \(prefix + "%")
            """,
            """
            INSERT INTO analytics_events (user_id, event_type, occurred_at, duration_ms)
            SELECT \(prefix) || (i % 1000 + 1), 'plan.' || (i % 50), timestamptz '2023-01-01 00:00Z' + i * interval '2 minutes', i % 1000
            FROM generate_series(1, 200000) i
            """,
            """
            INSERT INTO llm_usage (id, user_id, provider, model, prompt_tokens, completion_tokens, duration_ms, created_at)
            SELECT gen_random_uuid(), \(prefix) || (i % 1000 + 1), 'plan', 'm', 1, 1, 1, timestamptz '2023-01-01 00:00Z' + i * interval '5 minutes'
            FROM generate_series(1, 50000) i
            """,
            """
            INSERT INTO feedback (id, user_id, target_type, target_id, rating)
            SELECT gen_random_uuid(), user_id, 'session', id, 3 FROM sessions WHERE user_id LIKE \(prefix + "%")
            """,
            """
            INSERT INTO audit_log (id, actor_user_id, action, target_type, at)
            SELECT gen_random_uuid(), \(prefix) || (i % 1000 + 1), 'plan.test', 'plan', timestamptz '2023-01-01 00:00Z' + i * interval '10 minutes'
            FROM generate_series(1, 40000) i
            """,
            """
            INSERT INTO domain_sets (name, domains)
            SELECT \(prefix) || i, ARRAY['example.org'] FROM generate_series(1, 20000) i
            """,
            "ANALYZE users, sessions, research_requests, analytics_events, llm_usage, feedback, audit_log, domain_sets",
        ]
        for statement in statements { try await connection.query(statement) }
    }

    @Test("every list statement reads its index, the keyset included, under a generic plan")
    func listsKeepTheirIndexes() async throws {
        let prefix = "gp-\(UUID().uuidString.prefix(6).lowercased())-"
        let user = prefix + "7"
        let from = Date(timeIntervalSince1970: 1_680_000_000)
        let to = from.addingTimeInterval(86_400)
        let expectations: [Expectation] = [
            .init(
                label: "a user's sessions", query: SessionStore.listQuery(userID: user, status: nil, after: nil, limit: 50),
                table: "sessions", index: "sessions_user_updated_idx", keysetColumn: "updated_at"),
            .init(
                label: "a user's archived sessions", query: SessionStore.listQuery(userID: user, status: "archived", after: nil, limit: 50),
                table: "sessions", index: "sessions_user_updated_idx", keysetColumn: "updated_at"),
            .init(
                label: "all sessions", query: SessionStore.listQuery(userID: nil, status: nil, after: nil, limit: 50),
                table: "sessions", index: "sessions_updated_idx", keysetColumn: "updated_at"),
            .init(
                label: "all archived sessions", query: SessionStore.listQuery(userID: nil, status: "archived", after: nil, limit: 50),
                table: "sessions", index: "sessions_archived_updated_idx", keysetColumn: "updated_at"),
            .init(
                label: "a session's research",
                query: ResearchRequestStore.listQuery(owner: user, sessionID: UUID(), status: nil, workflowType: nil, after: nil, limit: 50),
                table: "research_requests", index: "research_requests_session_created_idx", keysetColumn: "created_at"),
            .init(
                label: "a user's research",
                query: ResearchRequestStore.listQuery(owner: user, sessionID: nil, status: "pending", workflowType: nil, after: nil, limit: 50),
                table: "research_requests", index: "research_requests_user_created_idx", keysetColumn: "created_at"),
            .init(
                label: "research by status",
                query: ResearchRequestStore.listQuery(owner: nil, sessionID: nil, status: "running", workflowType: "flow-1", after: nil, limit: 50),
                table: "research_requests", index: "research_requests_status_created_idx", keysetColumn: "created_at"),
            .init(
                label: "research by workflow",
                query: ResearchRequestStore.listQuery(owner: nil, sessionID: nil, status: nil, workflowType: "flow-1", after: nil, limit: 50),
                table: "research_requests", index: "research_requests_workflow_created_idx", keysetColumn: "created_at"),
            .init(
                label: "the audit trail", query: AuditStore.listQuery(after: nil, limit: 50),
                table: "audit_log", index: "audit_log_at_idx", keysetColumn: "at"),
            .init(
                label: "domain sets", query: DomainSetStore.listQuery(after: nil, limit: 50),
                table: "domain_sets", index: "domain_sets_pkey", keysetColumn: "name"),
            .init(
                label: "a user's usage (export)", query: LLMUsageStore.exportPageQuery(userID: user, after: nil, limit: 500),
                table: "llm_usage", index: "llm_usage_user_created_idx", keysetColumn: "created_at"),
            .init(
                label: "a user's feedback (export)", query: FeedbackStore.exportPageQuery(userID: user, after: nil, limit: 500),
                table: "feedback", index: "feedback_user_id_target_key", keysetColumn: "target_type"),
        ]
        // One event type's summary may also range over analytics_events_occurred_idx (index-only,
        // event_type included): the planner picks it when the heap is in occurred_at order.
        let summaries: [(String, [PostgresQuery], String, [String])] = [
            ("a user's analytics summary", AnalyticsStore.summaryQueries(owner: user, from: from, to: to, eventType: nil, bucket: "hour"),
             "analytics_events_user_occurred_idx", []),
            ("one event type's summary", AnalyticsStore.summaryQueries(owner: nil, from: from, to: to, eventType: "plan.3", bucket: "hour"),
             "analytics_events_type_occurred_idx", ["analytics_events_occurred_idx"]),
            ("the whole summary", AnalyticsStore.summaryQueries(owner: nil, from: from, to: to, eventType: nil, bucket: "hour"),
             "analytics_events_occurred_idx", []),
        ]
        let all = expectations + summaries.flatMap { label, queries, index, alternatives in
            queries.map { Expectation(label: label, query: $0, table: "analytics_events", index: index, alternatives: alternatives) }
        }

        try await TestDatabase.withConnection { connection in
            try await connection.query("BEGIN")
            try await Self.seed(prefix, on: connection)
            try await connection.query("SET LOCAL plan_cache_mode = force_generic_plan")
            for expected in all {
                let nodes = try await Self.genericPlan(of: expected.query, on: connection)
                let scans = nodes.filter { ($0["Relation Name"] as? String) == expected.table || $0["Index Name"] != nil }
                let summary = scans.map { "\($0["Node Type"] ?? "") \($0["Index Name"] ?? $0["Relation Name"] ?? "")" }
                #expect(!scans.contains { $0["Node Type"] as? String == "Seq Scan" }, "\(expected.label): \(summary)")
                let onIndex = nodes.filter { ([expected.index] + expected.alternatives).contains($0["Index Name"] as? String ?? "") }
                #expect(!onIndex.isEmpty, "\(expected.label): expected \(expected.index), got \(summary)")
                if let column = expected.keysetColumn {
                    let conditions = onIndex.compactMap { $0["Index Cond"] as? String }.joined(separator: " ")
                    #expect(conditions.contains("ROW(\(column)") || conditions.contains("(\(column) >"), "\(expected.label): keyset not in \(conditions)")
                }
            }

            // The catch-all forms the split replaced: their generic plans miss the user's index
            // (walking every session, or every user's events in the window, instead).
            let catchAllSessions: PostgresQuery = """
                SELECT id FROM sessions
                WHERE (\(user)::text IS NULL OR user_id = \(user)) AND (\(String?.none)::text IS NULL OR status = \(String?.none))
                ORDER BY updated_at DESC, id DESC LIMIT 50
                """
            let catchAllEvents: PostgresQuery = """
                SELECT event_type, count(*) FROM analytics_events
                WHERE occurred_at >= \(from) AND occurred_at < \(to)
                  AND (\(String?.none)::text IS NULL OR event_type = \(String?.none)) AND (\(user)::text IS NULL OR user_id = \(user))
                GROUP BY event_type ORDER BY event_type
                """
            for (query, index) in [(catchAllSessions, "sessions_user_updated_idx"), (catchAllEvents, "analytics_events_user_occurred_idx")] {
                let old = try await Self.genericPlan(of: query, on: connection)
                #expect(!old.contains { $0["Index Name"] as? String == index }, "the catch-all form uses \(index) after all")
            }
            try await connection.query("ROLLBACK")
        }
    }
}
