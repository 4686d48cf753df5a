import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

@Suite("Conventions shared by every route")
struct ConventionsTests {
    let requestID = HTTPField.Name("X-Request-ID")!

    @Test("a sane X-Request-ID is kept, anything else replaced; errors carry it too")
    func requestIDs() async throws {
        try await withAPI { client in
            let kept = try await client.call(.get, "/db/sessions", as: uniqueUser(), headers: [requestID: "abc.DEF_123-x"])
            #expect(kept.headers[requestID] == "abc.DEF_123-x")
            for insane in ["has space", String(repeating: "a", count: 129), "semi;colon"] {
                let replaced = try await client.call(.get, "/db/sessions", as: uniqueUser(), headers: [requestID: insane])
                let id = try #require(replaced.headers[requestID])
                #expect(id != insane && !id.isEmpty)
            }
            let missing = try await client.call(.get, "/db/nothing-here", as: uniqueUser(), headers: [requestID: "trace-1"])
            try expectProblem(missing, .notFound)
            #expect(missing.headers[requestID] == "trace-1")
        }
    }

    @Test("batch routes take up to 8 MiB and answer 413 beyond")
    func batchLimit() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let event = #"{"event_type": "big", "properties": {"pad": "\#(String(repeating: "x", count: 60_000))"}}"#
            let fits = "{\"events\": [" + Array(repeating: event, count: 130).joined(separator: ",") + "]}"  // ~7.8 MB
            #expect(fits.utf8.count < 8 * 1024 * 1024)
            let accepted = try await client.call(.post, "/db/analytics/batch", as: user, json: fits)
            #expect(accepted.status == .accepted, "\(String(buffer: accepted.body))")
            let tooBig = "{\"events\": [" + Array(repeating: event, count: 141).joined(separator: ",") + "]}"
            #expect(tooBig.utf8.count > 8 * 1024 * 1024)
            try expectProblem(try await client.call(.post, "/db/analytics/batch", as: user, json: tooBig), .contentTooLarge)
        }
    }

    @Test("deleting a session removes its messages, research requests, history and events; nothing else")
    func deleteCascades() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let doomed = try await createSession(client, user: user)
            let kept = try await createSession(client, user: user)
            for session in [doomed, kept] {
                _ = try await client.call(
                    .post, "/db/messages/batch", as: user,
                    json: #"{"session_id": "\#(session)", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}"#)
                let research = try json(try await client.call(
                    .post, "/db/research/create", as: user, json: #"{"session_id": "\#(session)", "question": "q", "workflow_type": "w"}"#))
                _ = try await client.call(.patch, "/db/research/\(research["id"] as! String)", as: user, json: #"{"status": "running"}"#)
                _ = try await client.call(.post, "/db/analytics/log", as: user, json: #"{"event_type": "e", "session_id": "\#(session)"}"#)
            }
            _ = try await client.call(.post, "/db/analytics/log", as: user, json: #"{"event_type": "sessionless"}"#)
            #expect(try await client.call(.delete, "/db/sessions/\(doomed)", as: user).status == .noContent)
            try await TestDatabase.withConnection { connection in
                for (session, expected) in [(doomed, 0), (kept, 1)] {
                    let id = UUID(uuidString: session)!
                    let row = try #require(try await connection.query(
                        """
                        SELECT (SELECT count(*) FROM sessions WHERE id = \(id)),
                               (SELECT count(*) FROM messages WHERE session_id = \(id)),
                               (SELECT count(*) FROM research_requests WHERE session_id = \(id)),
                               (SELECT count(*) FROM research_status_history h JOIN research_requests r ON r.id = h.research_id
                                 WHERE r.session_id = \(id)),
                               (SELECT count(*) FROM analytics_events WHERE session_id = \(id))
                        """).first)
                    let counts = try row.decode((Int, Int, Int, Int, Int).self)
                    #expect(counts.0 == expected && counts.1 == 2 * expected && counts.2 == expected)
                    #expect(counts.3 == 2 * expected && counts.4 == expected)
                }
                let sessionless = try await connection.query(
                    "SELECT count(*) FROM analytics_events WHERE user_id = \(user) AND session_id IS NULL")
                #expect(try sessionless[0].decode(0, as: Int.self) == 1)
            }
        }
    }
}
