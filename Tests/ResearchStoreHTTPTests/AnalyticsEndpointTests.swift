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
