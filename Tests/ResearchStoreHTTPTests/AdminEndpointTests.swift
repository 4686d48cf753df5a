import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
@testable import ResearchStore
import TestSupport
import Testing

/// The start of a one-hour window in 2020–2021 that no other test uses (rows are moved into it
/// so that deployment-wide statistics over it are exact).
func privateWindow() -> (from: String, to: String, start: Date) {
    let hours = Int.random(in: 0..<(2 * 365 * 24))
    let start = Date(timeIntervalSince1970: 1_577_836_800 + Double(hours) * 3600)
    return (Timestamp.format(start), Timestamp.format(start.addingTimeInterval(3600)), start)
}

@Suite("Admin statistics and audit")
struct AdminEndpointTests {
    static let routes = [
        "/db/admin/stats/feedback", "/db/admin/stats/telemetry", "/db/admin/stats/llm", "/db/admin/stats/activity", "/db/admin/audit",
    ]

    @Test("admin routes are 403 for others, and bad parameters are 422 before that")
    func adminOnly() async throws {
        try await withAPI { client in
            for route in Self.routes {
                try expectProblem(try await client.call(.get, route, as: uniqueUser()), .forbidden)
            }
            for route in Self.routes.dropLast() {
                try expectProblem(try await client.call(.get, "\(route)?from=yesterday", as: uniqueUser()), .unprocessableContent, fields: ["from"])
                try expectProblem(
                    try await client.call(.get, "\(route)?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", as: "ops", admin: true),
                    .unprocessableContent, fields: ["from"])
                try expectProblem(
                    try await client.call(.get, "\(route)?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", as: "ops", admin: true),
                    .unprocessableContent, fields: ["from"])
            }
            try expectProblem(try await client.call(.get, "/db/admin/audit?limit=0", as: uniqueUser()), .unprocessableContent, fields: ["limit"])
            try expectProblem(try await client.call(.get, "/db/admin/audit?limit=201", as: "ops", admin: true), .unprocessableContent, fields: ["limit"])
            try expectProblem(try await client.call(.get, "/db/admin/audit?cursor=bogus", as: "ops", admin: true), .badRequest, fields: ["cursor"])
        }
    }

    @Test("feedback statistics: count, mean, distribution and per target type over the window")
    func feedbackStatistics() async throws {
        let user = uniqueUser()
        let window = privateWindow()
        try await withAPI { client in
            let first = try await createSession(client, user: user)
            let second = try await createSession(client, user: user)
            let research = try await createResearch(client, user: user, session: first)
            let messages = [try await storeMessage(client, user: user, session: first), try await storeMessage(client, user: user, session: second)]
            let ratings = [("session", first, 5), ("session", second, 3), ("research", research, 4), ("message", messages[0], 1), ("message", messages[1], 1)]
            for (type, target, rating) in ratings {
                let response = try await client.call(
                    .post, "/db/feedback", as: user, json: #"{"target_type": "\#(type)", "target_id": "\#(target)", "rating": \#(rating)}"#)
                #expect(response.status == .created)
            }
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    "UPDATE feedback SET created_at = \(window.start) + interval '10 minutes', updated_at = \(window.start) + interval '10 minutes' WHERE user_id = \(user)")
            }
            let statistics = try json(
                try await client.call(.get, "/db/admin/stats/feedback?from=\(window.from)&to=\(window.to)", as: "ops", admin: true))
            #expect(statistics["from"] as? String == window.from && statistics["to"] as? String == window.to)
            #expect(statistics["count"] as? Int == 5)
            #expect(abs((statistics["mean_rating"] as? Double ?? 0) - 2.8) < 1e-9)
            #expect(statistics["distribution"] as? [String: Int] == ["1": 2, "2": 0, "3": 1, "4": 1, "5": 1])
            let byType = try #require(statistics["by_target_type"] as? [String: [String: Any]])
            #expect(byType["session"]?["count"] as? Int == 2 && byType["session"]?["mean_rating"] as? Double == 4)
            #expect(byType["research"]?["count"] as? Int == 1 && byType["research"]?["mean_rating"] as? Double == 4)
            #expect(byType["message"]?["count"] as? Int == 2 && byType["message"]?["mean_rating"] as? Double == 1)

            let empty = try json(
                try await client.call(
                    .get, "/db/admin/stats/feedback?from=1999-01-01T00:00:00Z&to=1999-01-02T00:00:00Z", as: "ops", admin: true))
            #expect(empty["count"] as? Int == 0 && empty["mean_rating"] is NSNull)
            #expect((empty["by_target_type"] as? [String: [String: Any]])?["message"]?["mean_rating"] is NSNull)
        }
    }

    @Test("telemetry statistics count events by type over the window; the default window holds what was just logged")
    func telemetryStatistics() async throws {
        let user = uniqueUser()
        let window = privateWindow()
        let inside = Timestamp.format(window.start.addingTimeInterval(60))
        let type = "tele.\(UUID().uuidString.prefix(8).lowercased())"
        try await withAPI { client in
            let events = ["x.a", "x.a", "x.b", "x.a"].map { #"{"event_type": "\#($0)", "occurred_at": "\#(inside)"}"# }
            let batch = try await client.call(.post, "/db/analytics/batch", as: user, json: #"{"events": [\#(events.joined(separator: ","))]}"#)
            #expect(batch.status == .accepted)
            #expect(try await client.call(.post, "/db/analytics/log", as: user, json: #"{"event_type": "\#(type)"}"#).status == .accepted)

            let statistics = try json(
                try await client.call(.get, "/db/admin/stats/telemetry?from=\(window.from)&to=\(window.to)", as: "ops", admin: true))
            #expect(statistics["from"] as? String == window.from && statistics["to"] as? String == window.to)
            #expect(statistics["total"] as? Int == 4)
            let byType = try #require(statistics["by_event_type"] as? [[String: Any]])
            #expect(byType.map { $0["event_type"] as? String ?? "" } == ["x.a", "x.b"])
            #expect(byType.map { $0["count"] as? Int ?? 0 } == [3, 1])

            let recent = try json(try await client.call(.get, "/db/admin/stats/telemetry", as: "ops", admin: true))
            let recentTypes = try #require(recent["by_event_type"] as? [[String: Any]])
            #expect(recentTypes.contains { $0["event_type"] as? String == type && $0["count"] as? Int == 1 })
            #expect((recent["total"] as? Int ?? 0) >= 1)
        }
    }

    @Test("LLM statistics: totals and per model, with percentile_cont latencies and exact cost sums")
    func llmStatistics() async throws {
        let user = uniqueUser()
        let window = privateWindow()
        let provider = "prov-\(UUID().uuidString.prefix(8).lowercased())"
        try await withAPI { client in
            let calls: [(String, Int, Int, Double, String?)] = [
                ("a", 100, 10, 10, "0.1"), ("a", 200, 20, 20, "0.2"), ("a", 300, 30, 30, nil), ("a", 400, 40, 40, nil), ("b", 5, 5, 5, nil),
            ]
            for (model, prompt, completion, duration, cost) in calls {
                let response = try await client.call(
                    .post, "/db/llm-usage", as: user,
                    json: """
                        {"provider": "\(provider)", "model": "\(model)", "prompt_tokens": \(prompt), "completion_tokens": \(completion),
                         "duration_ms": \(duration)\(cost.map { ", \"cost_usd\": \($0)" } ?? "")}
                        """)
                #expect(response.status == .created)
            }
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query("UPDATE llm_usage SET created_at = \(window.start) + interval '5 minutes' WHERE user_id = \(user)")
            }
            let response = try await client.call(.get, "/db/admin/stats/llm?from=\(window.from)&to=\(window.to)", as: "ops", admin: true)
            let statistics = try json(response)
            let totals = try #require(statistics["totals"] as? [String: Any])
            #expect(totals["calls"] as? Int == 5)
            #expect(totals["prompt_tokens"] as? Int == 1005 && totals["completion_tokens"] as? Int == 105 && totals["total_tokens"] as? Int == 1110)
            #expect(totals["cost_usd"] as? Double == 0.3)
            #expect((totals["duration_ms"] as? [String: Double])?["p50"] == 20)
            let models = try #require(statistics["by_model"] as? [[String: Any]])
            #expect(models.map { $0["model"] as? String ?? "" } == ["a", "b"])
            #expect(models.allSatisfy { $0["provider"] as? String == provider })
            #expect(models[0]["calls"] as? Int == 4 && models[0]["total_tokens"] as? Int == 1100)
            let latency = try #require(models[0]["duration_ms"] as? [String: Double])
            #expect(latency["p50"] == 25)
            #expect(abs((latency["p95"] ?? 0) - 38.5) < 1e-9)
            #expect(abs((latency["p99"] ?? 0) - 39.7) < 1e-9)
            #expect(models[0]["cost_usd"] as? Double == 0.3)
            #expect(models[1]["cost_usd"] is NSNull)
            #expect(String(buffer: response.body).contains(#""cost_usd":0.3,"#))
        }
    }

    @Test("activity statistics: sessions and messages per UTC day with zeros, research by status with duration percentiles")
    func activityStatistics() async throws {
        let user = uniqueUser()
        let window = privateWindow()
        try await withAPI { client in
            let first = try await createSession(client, user: user)
            let second = try await createSession(client, user: user)
            for session in [first, first, second] { _ = try await storeMessage(client, user: user, session: session) }
            var research: [String] = []
            for _ in 0..<4 { research.append(try await createResearch(client, user: user, session: first)) }
            for (id, outcome) in [(research[0], #"{"status": "completed", "result": {}}"#), (research[1], #"{"status": "completed", "result": {}}"#),
                (research[2], #"{"status": "failed", "error": "timeout"}"#)]
            {
                #expect(try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "running"}"#).status == .ok)
                #expect(try await client.call(.patch, "/db/research/\(id)", as: user, json: outcome).status == .ok)
            }
            // Into the private window, with durations of 1000, 3000 (completed) and 500 ms (failed).
            let at = window.start.addingTimeInterval(600)
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    "UPDATE messages SET created_at = \(at) WHERE session_id IN (SELECT id FROM sessions WHERE user_id = \(user))")
                try await connection.query(
                    "UPDATE sessions SET created_at = \(at), updated_at = \(at), last_message_at = \(at) WHERE user_id = \(user)")
                for (id, milliseconds) in [(research[0], 1000), (research[1], 3000), (research[2], 500)] {
                    try await connection.query(
                        """
                        UPDATE research_requests SET created_at = \(at), started_at = \(at),
                            finished_at = \(at)::timestamptz + \(milliseconds)::int * interval '1 millisecond'
                        WHERE id = \(id)::uuid
                        """)
                }
                try await connection.query("UPDATE research_requests SET created_at = \(at) WHERE id = \(research[3])::uuid")
            }
            // Two days: the window's day holds everything, the day before is zeros.
            let from = Timestamp.format(window.start.addingTimeInterval(-86400))
            let statistics = try json(
                try await client.call(.get, "/db/admin/stats/activity?from=\(from)&to=\(window.to)", as: "ops", admin: true))
            let days = try #require(statistics["by_day"] as? [[String: Any]])
            let day = String(window.from.prefix(10))
            #expect(days.count == 2 && days.last?["day"] as? String == day)
            #expect(days.first?["sessions"] as? Int == 0 && days.first?["messages"] as? Int == 0)
            #expect(days.last?["sessions"] as? Int == 2 && days.last?["messages"] as? Int == 3)
            let byStatus = try #require(statistics["research"] as? [String: [String: Any]])
            let completed = try #require(byStatus["completed"]?["duration_ms"] as? [String: Any])
            #expect(byStatus["completed"]?["count"] as? Int == 2)
            #expect(completed["mean"] as? Double == 2000 && completed["p50"] as? Double == 2000 && completed["max"] as? Double == 3000)
            #expect(abs((completed["p95"] as? Double ?? 0) - 2900) < 1e-6)
            #expect(byStatus["failed"]?["count"] as? Int == 1 && (byStatus["failed"]?["duration_ms"] as? [String: Any])?["p50"] as? Double == 500)
            #expect(byStatus["pending"]?["count"] as? Int == 1 && (byStatus["pending"]?["duration_ms"] as? [String: Any])?["mean"] is NSNull)
            #expect(byStatus["running"]?["count"] as? Int == 0 && byStatus["cancelled"]?["count"] as? Int == 0)

            let empty = try json(
                try await client.call(
                    .get, "/db/admin/stats/activity?from=1999-01-01T00:00:00Z&to=1999-01-03T00:00:00Z", as: "ops", admin: true))
            #expect((empty["by_day"] as? [[String: Any]])?.map { $0["day"] as? String } == ["1999-01-01", "1999-01-02"])
            #expect((empty["research"] as? [String: [String: Any]])?["completed"]?["count"] as? Int == 0)
        }
    }

    @Test("the audit trail lists domain-set writes and erasures newest first, page by page")
    func auditTrail() async throws {
        let name = "audit-\(UUID().uuidString.prefix(8).lowercased())"
        let erased = uniqueUser("erased")
        try await withAPI { client in
            #expect(try await client.call(.post, "/db/domain-sets", as: "ops", admin: true, json: #"{"name": "\#(name)", "domains": ["a.org"]}"#).status == .created)
            #expect(try await client.call(.delete, "/db/domain-sets/\(name)", as: "ops", admin: true).status == .noContent)
            _ = try await createSession(client, user: erased)
            #expect(try await client.call(.delete, "/db/users/\(erased)", as: erased).status == .noContent)

            let page = try json(try await client.call(.get, "/db/admin/audit?limit=200", as: "ops", admin: true))
            let items = try #require(page["items"] as? [[String: Any]])
            let mine = items.filter { [name, erased].contains($0["target_id"] as? String ?? "") }
            #expect(mine.map { $0["action"] as? String ?? "" } == ["user.erase", "domain_set.delete", "domain_set.create"])
            #expect(mine[0]["actor_user_id"] as? String == erased && mine[0]["target_type"] as? String == "user")
            #expect((mine[0]["details"] as? [String: Int])?["sessions"] == 1)
            #expect(mine[2]["actor_user_id"] as? String == "ops" && mine[2]["target_type"] as? String == "domain_set")
            #expect((mine[2]["details"] as? [String: Int])?["domains"] == 1)
            #expect(Set(mine[0].keys) == ["id", "at", "actor_user_id", "action", "target_type", "target_id", "details"])

            var cursor: String?
            var seen: [(String, String)] = []
            for _ in 0..<3 {
                let uri = "/db/admin/audit?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let body = try json(try await client.call(.get, uri, as: "ops", admin: true))
                let entries = try #require(body["items"] as? [[String: Any]])
                seen += entries.map { ($0["at"] as? String ?? "", $0["id"] as? String ?? "") }
                cursor = body["next_cursor"] as? String
                if cursor == nil { break }
            }
            #expect(seen.count >= 3)
            #expect(seen.allSatisfy { UUID(uuidString: $0.1) != nil }, "audit ids are UUID strings: \(seen)")
            #expect(Set(seen.map(\.1)).count == seen.count)
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) })
        }
    }
}

@Suite("Audit of deletions and admin reads")
struct AuditEntriesTests {
    func entries(target: String) async throws -> [(action: String, actor: String, details: String)] {
        try await TestDatabase.withConnection { connection in
            try await connection.query(
                "SELECT action, actor_user_id, details::text FROM audit_log WHERE target_id = \(target) ORDER BY at, id"
            ).map { try $0.decode((String, String, String).self) }
        }
    }

    @Test("an admin's read of another user's data is recorded before it is answered; the owner's own reads are not")
    func adminReads() async throws {
        let owner = uniqueUser("owner")
        let admin = uniqueUser("admin")
        try await withAPI { client in
            let session = try await createSession(client, user: owner)
            let message = try await storeMessage(client, user: owner, session: session)
            let research = try await createResearch(client, user: owner, session: session)
            for path in ["/db/sessions/\(session)", "/db/messages/\(message)", "/db/research/\(research)", "/db/users/\(owner)"] {
                #expect(try await client.call(.get, path, as: owner).status == .ok)
            }
            #expect(try await entries(target: session).isEmpty)
            for path in [
                "/db/sessions/\(session)", "/db/sessions/\(session)/messages", "/db/context/\(session)", "/db/analytics/sessions/\(session)",
            ] {
                #expect(try await client.call(.get, path, as: admin, admin: true).status == .ok)
            }
            let sessionReads = try await entries(target: session)
            #expect(sessionReads.count == 4)
            #expect(sessionReads.allSatisfy { $0.action == "admin.read" && $0.actor == admin && $0.details.contains(owner) })
            #expect(try await client.call(.get, "/db/messages/\(message)", as: admin, admin: true).status == .ok)
            #expect(try await client.call(.get, "/db/research/\(research)", as: admin, admin: true).status == .ok)
            #expect(try await client.call(.get, "/db/users/\(owner)/export", as: admin, admin: true).status == .ok)
            #expect(try await client.call(.get, "/db/sessions?user_id=\(owner)", as: admin, admin: true).status == .ok)
            #expect(try await entries(target: message).map(\.action) == ["admin.read"])
            #expect(try await entries(target: research).map(\.action) == ["admin.read"])
            #expect(try await entries(target: owner).count == 2)  // the export's user record and the filtered list
        }
    }

    @Test("an admin's read whose entry cannot be written fails and hands over nothing; usage and feedback reads are recorded")
    func unrecordableReadFails() async throws {
        let owner = uniqueUser("owner")
        let admin = uniqueUser("admin")
        try await withAPI { client in
            let session = try await createSession(client, user: owner)
            _ = try await storeMessage(client, user: owner, session: session, content: "words only the owner may see")
            // Refuse every audit entry about this one session, and only those.
            let refuse = TestDatabase.uniqueName("refuse_audit")
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    """
                    CREATE FUNCTION \(identifier: refuse)() RETURNS trigger LANGUAGE plpgsql
                    AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$
                    """)
                let name = PostgresQuery.quoteIdentifier(refuse)
                try #require(UUID(uuidString: session) != nil)  // so it can be spliced into the DDL
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            CREATE TRIGGER \(name) BEFORE INSERT ON audit_log FOR EACH ROW
                            WHEN (NEW.target_id = '\(session)') EXECUTE FUNCTION \(name)()
                            """))
            }
            defer {
                Task {
                    _ = try? await TestDatabase.withConnection { connection in
                        try await connection.query("DROP TRIGGER \(identifier: refuse) ON audit_log")
                        try await connection.query("DROP FUNCTION \(identifier: refuse)()")
                    }
                }
            }
            for path in ["/db/sessions/\(session)", "/db/sessions/\(session)/messages", "/db/context/\(session)"] {
                let response = try await client.call(.get, path, as: admin, admin: true)
                #expect(response.status.code >= 500, "\(path): \(response.status)")
                #expect(!String(buffer: response.body).contains("words only the owner"), "\(path)")
            }
            #expect(try await client.call(.get, "/db/sessions/\(session)/messages", as: owner).status == .ok)  // no entry needed

            // The two targets the other test does not read.
            let usage = try json(
                try await client.call(
                    .post, "/db/llm-usage", as: owner,
                    json: #"{"session_id":"\#(session)","provider":"p","model":"m","prompt_tokens":1,"completion_tokens":1,"duration_ms":1}"#))["id"] as? String
            let feedback = try json(
                try await client.call(.post, "/db/feedback", as: owner, json: #"{"target_type":"session","target_id":"\#(session)","rating":5}"#))["id"] as? String
            for (kind, id) in [("llm-usage", try #require(usage)), ("feedback", try #require(feedback))] {
                #expect(try await client.call(.get, "/db/\(kind)/\(id)", as: admin, admin: true).status == .ok)
                let recorded = try await entries(target: id)
                #expect(recorded.map(\.action) == ["admin.read"], "\(kind)")
                #expect(recorded.allSatisfy { $0.actor == admin && $0.details.contains(owner) })
            }
        }
    }

    @Test("deleting a session is recorded with its owner and message count, in the same transaction")
    func sessionDeletion() async throws {
        let owner = uniqueUser("owner")
        try await withAPI { client in
            let session = try await createSession(client, user: owner)
            _ = try await storeMessage(client, user: owner, session: session, content: "private words")
            _ = try await storeMessage(client, user: owner, session: session)
            #expect(try await client.call(.delete, "/db/sessions/\(session)", as: uniqueUser("other")).status == .notFound)
            #expect(try await entries(target: session).isEmpty)
            #expect(try await client.call(.delete, "/db/sessions/\(session)", as: owner).status == .noContent)
            let recorded = try await entries(target: session)
            #expect(recorded.map(\.action) == ["session.delete"])
            #expect(recorded.first?.actor == owner)
            #expect(recorded.first?.details.contains("\"messages\": 2") == true && recorded.first?.details.contains("private") == false)
        }
    }
}

@Suite("Admin statistics plans")
struct AdminStatisticsPlanTests {
    /// The nodes of an `EXPLAIN (FORMAT JSON)` plan, flattened.
    func nodes(_ plan: Any) -> [[String: Any]] {
        guard let node = plan as? [String: Any] else { return [] }
        return [node] + ((node["Plans"] as? [Any]) ?? []).flatMap(nodes)
    }

    @Test("a one-day window over a million events (and large usage, feedback, session, message and research tables) is an index range scan, not a table scan")
    func statisticsUseIndexes() async throws {
        let owner = "bulk-plan-owner"
        try await TestDatabase.withConnection { connection in
            // Seeded once per database, in 2024 (no other test's window), then analysed.
            try await connection.query("SELECT pg_advisory_lock(4242)")
            let seeded = try await connection.query("SELECT count(*) FROM analytics_events WHERE user_id = \(owner)")[0].decode(0, as: Int.self)
            if seeded < 1_000_000 {
                try await connection.query("INSERT INTO users (id) VALUES (\(owner)) ON CONFLICT DO NOTHING")
                try await connection.query(
                    """
                    INSERT INTO analytics_events (user_id, event_type, occurred_at, duration_ms)
                    SELECT \(owner), 'bulk.' || (i % 20), timestamptz '2024-01-01 00:00Z' + i * interval '30 seconds', i % 1000
                    FROM generate_series(1, \(1_000_000 - seeded)) i
                    """)
                try await connection.query(
                    """
                    INSERT INTO llm_usage (id, user_id, provider, model, prompt_tokens, completion_tokens, duration_ms, created_at)
                    SELECT gen_random_uuid(), \(owner), 'bulk', 'm' || (i % 5), i % 1000, i % 100, i % 5000,
                           timestamptz '2024-01-01 00:00Z' + i * interval '3 minutes'
                    FROM generate_series(1, 200000) i
                    """)
                try await connection.query(
                    """
                    INSERT INTO sessions (id, user_id, title, created_at, updated_at)
                    SELECT gen_random_uuid(), \(owner), 'bulk', at, at
                    FROM (SELECT timestamptz '2024-01-01 00:00Z' + i * interval '10 minutes' AS at FROM generate_series(1, 50000) i) t
                    """)
                try await connection.query(
                    """
                    INSERT INTO feedback (id, user_id, target_type, target_id, rating, created_at, updated_at)
                    SELECT gen_random_uuid(), user_id, 'session', id, 1 + (extract(epoch FROM created_at)::bigint % 5), created_at, created_at
                    FROM sessions WHERE user_id = \(owner)
                    """)
                try await connection.query("ANALYZE analytics_events, llm_usage, feedback")
            }
            // The activity figures' tables (migration 006's BRIN indexes): 4 messages and a
            // pending research request per bulk session, seeded once.
            let seededMessages = try await connection.query(
                "SELECT count(*) FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.user_id = \(owner)")[0].decode(0, as: Int.self)
            if seededMessages == 0 {
                try await connection.query(
                    """
                    INSERT INTO messages (id, session_id, seq, role, content, token_count, created_at)
                    SELECT gen_random_uuid(), s.id, n, 'user', 'bulk', 1, s.created_at + n * interval '1 second'
                    FROM sessions s CROSS JOIN generate_series(1, 4) n WHERE s.user_id = \(owner)
                    ORDER BY s.created_at, n
                    """)
                try await connection.query(
                    """
                    INSERT INTO research_requests (id, session_id, user_id, question, workflow_type, created_at)
                    SELECT gen_random_uuid(), id, user_id, 'bulk', 'bulk', created_at FROM sessions WHERE user_id = \(owner)
                    ORDER BY created_at
                    """)
                try await connection.query("ANALYZE sessions, messages, research_requests")
            }
            try await connection.query("SELECT pg_advisory_unlock(4242)")

            let from = Timestamp.parse("2024-06-01T00:00:00Z")!
            let to = Timestamp.parse("2024-06-02T00:00:00Z")!
            let queries: [(String, PostgresQuery)] = [
                ("analytics_events", AnalyticsStore.telemetryQuery(from: from, to: to)),
                ("llm_usage", LLMUsageStore.statisticsQuery(from: from, to: to)),
                ("feedback", FeedbackStore.statisticsQuery(from: from, to: to)),
                ("sessions", AdminStatisticsService.activityByDayQuery(from: from, to: to)),
                ("messages", AdminStatisticsService.activityByDayQuery(from: from, to: to)),
                ("research_requests", AdminStatisticsService.activityResearchQuery(from: from, to: to)),
            ]
            for (table, query) in queries {
                let explain = PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) " + query.sql, bindings: query.bindings)
                let text = try await connection.query(explain)[0].decode(0, as: String.self)
                let plan = try #require((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])?.first?["Plan"])
                let scans = nodes(plan).filter { ($0["Relation Name"] as? String) == table }
                #expect(!scans.isEmpty, "\(table): \(text)")
                for scan in scans {
                    let type = scan["Node Type"] as? String ?? ""
                    #expect(type != "Seq Scan", "\(table) is scanned whole: \(text)")
                    #expect(["Index Only Scan", "Index Scan", "Bitmap Heap Scan"].contains(type), "\(table): \(type)")
                }
            }
            // And the statement answers: 2,880 events in that day (one per 30 s).
            let rows = try await connection.query(AnalyticsStore.telemetryQuery(from: from, to: to))
            #expect(try rows[0].decode(2, as: Int.self) >= 2880)
            // And the activity: 144 bulk sessions that day (one per 10 minutes), 4 messages each.
            let days = try await connection.query(AdminStatisticsService.activityByDayQuery(from: from, to: to))
            #expect(days.count == 1)
            let (_, sessions, messages) = try days[0].decode((String, Int, Int).self)
            #expect(sessions >= 144 && messages >= 576)
        }
    }
}
