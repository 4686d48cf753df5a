import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@Suite("Analytics")
struct AnalyticsEndpointTests {
    @Test("log is 202 {accepted: 1}; the summary counts it with duration percentiles")
    func logAndSummary() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            for duration in [10, 20, 30, 40] {
                let response = try await client.call(
                    .post, "/db/analytics/log", as: user,
                    json: #"{"event_type": "search.run", "session_id": "\#(session)", "duration_ms": \#(duration), "properties": {"q": "x"}}"#)
                #expect(response.status == .accepted)
                #expect(try json(response)["accepted"] as? Int == 1)
            }
            _ = try await client.call(.post, "/db/analytics/log", as: user, json: #"{"event_type": "page.view"}"#)
            let summary = try json(try await client.call(.get, "/db/analytics/summary", as: user))
            #expect(summary["bucket"] as? String == "hour")
            let types = try #require(summary["event_types"] as? [[String: Any]])
            #expect(types.map { $0["event_type"] as! String } == ["page.view", "search.run"])
            #expect(types[1]["count"] as? Int == 4)
            let durations = try #require(types[1]["duration_ms"] as? [String: Double])
            #expect(durations["p50"] == 25)  // percentile_cont: halfway between 20 and 30
            #expect(abs(durations["p99"]! - 39.7) < 1e-9)
            #expect((types[0]["duration_ms"] as? [String: Any])?["p50"] is NSNull)
            let buckets = try #require(summary["buckets"] as? [[String: Any]])
            #expect(buckets.reduce(0) { $0 + ($1["count"] as! Int) } == 5)
            #expect((buckets[0]["start"] as! String).hasSuffix(":00:00.000Z"))
            // Another user sees none of it; an admin sees it all.
            let other = try json(try await client.call(.get, "/db/analytics/summary?event_type=search.run", as: uniqueUser("x")))
            #expect((other["event_types"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a batch is all or nothing and names each bad event by index")
    func batch() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let events = (0..<2500).map { #"{"event_type": "tick", "session_id": "\#(session)", "duration_ms": \#($0 % 100)}"# }
            let good = try await client.call(.post, "/db/analytics/batch", as: user, json: #"{"events": [\#(events.joined(separator: ","))]}"#)
            #expect(good.status == .accepted)
            #expect(try json(good)["accepted"] as? Int == 2500)
            let bad = try await client.call(
                .post, "/db/analytics/batch", as: user,
                json: #"{"events": [{"event_type": "ok"}, {"event_type": "Bad Type"}, {"event_type": "ok", "duration_ms": -1, "occurred_at": "soon"}]}"#)
            try expectProblem(bad, .unprocessableContent, fields: ["events[1].event_type", "events[2].duration_ms", "events[2].occurred_at"])
            let foreign = try await createSession(client, user: uniqueUser("other"))
            let unknown = try await client.call(
                .post, "/db/analytics/batch", as: user,
                json: #"{"events": [{"event_type": "ok", "session_id": "\#(session)"}, {"event_type": "ok", "session_id": "\#(foreign)"}]}"#)
            try expectProblem(unknown, .notFound, fields: ["events[1].session_id"])
            try expectProblem(try await client.call(.post, "/db/analytics/batch", as: user, json: #"{"events": []}"#), .unprocessableContent, fields: ["events"])
            let figures = try json(try await client.call(.get, "/db/analytics/sessions/\(session)", as: user))
            #expect(figures["events"] as? Int == 2500)  // nothing of the refused batches
        }
    }

    @Test("a batch's events are stored exactly: escapes and unicode in properties, exponents, given and default times")
    func batchStoredExactly() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let properties = #"{"path": "C:\\dir\\file", "text": "tab\tnew\nline \"quoted\" \u0001 ✓ 𝄞", "n": 1e-7}"#
            let events = [
                #"{"event_type": "exact", "properties": \#(properties), "duration_ms": 1.5e-5, "occurred_at": "2001-02-03T04:05:06.789Z"}"#,
                #"{"event_type": "exact", "duration_ms": 123456789.25}"#,
            ]
            let response = try await client.call(
                .post, "/db/analytics/batch", as: user, json: #"{"events": [\#(events.joined(separator: ","))]}"#)
            #expect(response.status == .accepted)
            let rows = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    """
                    SELECT properties = \(properties)::jsonb, duration_ms, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'),
                           occurred_at = received_at
                    FROM analytics_events WHERE user_id = \(user) ORDER BY id
                    """
                ).map { try $0.decode((Bool, Double, String, Bool).self) }
            }
            try #require(rows.count == 2)
            #expect(rows[0].0 && rows[0].1 == 1.5e-5 && rows[0].2 == "2001-02-03 04:05:06.789" && !rows[0].3)
            #expect(rows[1].1 == 123456789.25 && rows[1].3)  // no time given: the transaction's, like received_at
        }
    }

    @Test("per-session figures: messages by role, tokens, research by status, usage, events")
    func sessionFigures() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            _ = try await client.call(
                .post, "/db/messages/batch", as: user,
                json: #"{"session_id": "\#(session)", "messages": [{"role": "user", "content": "a", "token_count": 3}, {"role": "assistant", "content": "b", "token_count": 4}, {"role": "user", "content": "c", "token_count": 5}]}"#)
            let research = try json(try await client.call(
                .post, "/db/research/create", as: user, json: #"{"session_id": "\#(session)", "question": "q", "workflow_type": "w"}"#))
            _ = try await client.call(.patch, "/db/research/\(research["id"] as! String)", as: user, json: #"{"status": "cancelled"}"#)
            _ = try await client.call(.post, "/db/analytics/log", as: user, json: #"{"event_type": "e", "session_id": "\#(session)"}"#)
            let figures = try json(try await client.call(.get, "/db/analytics/sessions/\(session)", as: user))
            #expect(figures["session_id"] as? String == session)
            #expect(figures["messages"] as? [String: Int] == ["user": 2, "assistant": 1, "system": 0, "tool": 0])
            #expect(figures["total_tokens"] as? Int == 12)
            let byStatus = try #require(figures["research"] as? [String: Any])
            #expect(byStatus["cancelled"] as? Int == 1 && byStatus["pending"] as? Int == 0)
            #expect(byStatus["mean_duration_ms"] is NSNull)
            let usage = try #require(figures["llm_usage"] as? [String: Any])
            #expect(usage["calls"] as? Int == 0 && usage["prompt_tokens"] as? Int == 0 && usage["completion_tokens"] as? Int == 0)
            #expect(usage["cost_usd"] is NSNull)
            #expect(figures["events"] as? Int == 1)
            try expectProblem(try await client.call(.get, "/db/analytics/sessions/\(session)", as: uniqueUser("x")), .notFound)
        }
    }

    @Test("summary errors: bad bucket, from after to, bad event type")
    func summaryErrors() async throws {
        try await withAPI { client in
            try expectProblem(
                try await client.call(.get, "/db/analytics/summary?bucket=week&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z&event_type=A", as: uniqueUser()),
                .unprocessableContent, fields: ["bucket", "event_type", "from"])
        }
    }
}
