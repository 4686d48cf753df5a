import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

@Suite("Context")
struct ContextEndpointTests {
    /// Stores messages with explicit token counts; returns nothing (seq follows the order).
    func store(_ client: some TestClientProtocol, user: String, session: String, _ messages: [(role: String, tokens: Int)]) async throws {
        let items = messages.enumerated().map { index, message in
            #"{"role": "\#(message.role)", "content": "c\#(index)", "token_count": \#(message.tokens)}"#
        }
        let response = try await client.call(
            .post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(items.joined(separator: ","))]}"#)
        #expect(response.status == .created)
    }

    func context(_ client: some TestClientProtocol, user: String, session: String, _ query: String = "") async throws -> [String: Any] {
        let response = try await client.call(.get, "/db/context/\(session)\(query)", as: user)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try json(response)
    }

    @Test("the most recent run that fits both budgets, chronological, never more tokens than asked")
    func budgets() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            try await store(client, user: user, session: session, [("user", 10), ("assistant", 10), ("user", 30), ("assistant", 10), ("user", 10)])
            let window = try await context(client, user: user, session: session, "?max_tokens=50")
            let contents = (window["messages"] as! [[String: Any]]).map { $0["content"] as! String }
            // Newest first: 10 + 10 fit, then 30 would make 50 ... fits exactly; 10 more would not.
            #expect(contents == ["c2", "c3", "c4"])
            #expect(window["token_count"] as? Int == 50)
            #expect(window["truncated"] as? Bool == true)
            #expect(window["omitted_messages"] as? Int == 2)
            #expect((window["session"] as? [String: Any])?["id"] as? String == session)
            let byCount = try await context(client, user: user, session: session, "?max_messages=2")
            #expect((byCount["messages"] as! [[String: Any]]).map { $0["content"] as! String } == ["c3", "c4"])
            let all = try await context(client, user: user, session: session)
            #expect((all["messages"] as! [[String: Any]]).count == 5)
            #expect(all["truncated"] as? Bool == false)
            #expect(all["omitted_messages"] as? Int == 0)
            #expect(all["token_count"] as? Int == 70)
        }
    }

    @Test("the latest system message is pinned first and counts against both budgets; alone too big, it is left out")
    func pinnedSystemMessage() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            try await store(client, user: user, session: session, [("system", 5), ("system", 20), ("user", 10), ("assistant", 10), ("user", 10), ("assistant", 10)])
            let window = try await context(client, user: user, session: session, "?max_tokens=45&max_messages=3")
            let contents = (window["messages"] as! [[String: Any]]).map { $0["content"] as! String }
            #expect(contents == ["c1", "c4", "c5"])  // pinned (20) + two newest (20) = 40 ≤ 45; 3 messages
            #expect(window["token_count"] as? Int == 40)
            #expect(window["truncated"] as? Bool == true)

            let tooSmall = try await context(client, user: user, session: session, "?max_tokens=15")
            let kept = (tooSmall["messages"] as! [[String: Any]]).map { $0["content"] as! String }
            #expect(kept == ["c5"])  // the 20-token system message alone exceeds 15
            #expect(tooSmall["truncated"] as? Bool == true)
        }
    }

    @Test("research holds the last five completed requests, newest first")
    func research() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            try await TestDatabase.withConnection { connection in
                for index in 0..<7 {
                    let status = index == 6 ? "failed" : "completed"
                    // Backdated finishes, with the history the store itself would have written.
                    try await connection.query(
                        """
                        WITH made AS (
                            INSERT INTO research_requests (id, session_id, user_id, question, workflow_type, status, result, error,
                                                           created_at, started_at, finished_at)
                            VALUES (gen_random_uuid(), \(UUID(uuidString: session)!), \(user), \("question \(index)"), 'deep',
                                    \(status), CASE WHEN \(status) = 'completed' THEN jsonb_build_object('answer', \(index)) END,
                                    CASE WHEN \(status) = 'failed' THEN 'boom' END,
                                    timestamptz '2026-01-01' , timestamptz '2026-01-01', timestamptz '2026-01-01' + \(index) * interval '1 minute')
                            RETURNING id, status, created_at, finished_at
                        )
                        INSERT INTO research_status_history (research_id, status, at)
                        SELECT id, 'pending', created_at FROM made
                        UNION ALL SELECT id, 'running', created_at FROM made
                        UNION ALL SELECT id, status, finished_at FROM made
                        """)
                }
            }
            let window = try await context(client, user: user, session: session)
            let research = try #require(window["research"] as? [[String: Any]])
            #expect(research.map { $0["question"] as! String } == ["question 5", "question 4", "question 3", "question 2", "question 1"])
            #expect(research[0]["result"] as? [String: Int] == ["answer": 5])
            #expect(Set(research[0].keys) == ["id", "question", "workflow_type", "result", "finished_at"])
        }
    }

    @Test("budgets of 0 are 422; another user's or an unknown session is 404")
    func errors() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            try expectProblem(try await client.call(.get, "/db/context/\(session)?max_tokens=0&max_messages=0", as: user),
                .unprocessableContent, fields: ["max_tokens", "max_messages"])
            try expectProblem(try await client.call(.get, "/db/context/\(session)", as: uniqueUser("other")), .notFound)
            try expectProblem(try await client.call(.get, "/db/context/\(UUID())", as: user), .notFound)
            try expectProblem(try await client.call(.get, "/db/context/not-a-uuid", as: user), .notFound)
        }
    }

    @Test("the context is read from one snapshot: counters and messages agree while messages are being stored")
    func oneSnapshot() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let writer = Task {
                for index in 0..<300 {
                    _ = try await client.call(
                        .post, "/db/messages/store", as: user,
                        json: #"{"session_id": "\#(session)", "role": "user", "content": "m\#(index)"}"#)
                }
            }
            var checked = 0
            while !writer.isCancelled, checked < 300 {
                let context = try json(try await client.call(.get, "/db/context/\(session)?max_messages=5", as: user))
                let count = try #require((context["session"] as? [String: Any])?["message_count"] as? Int)
                let messages = try #require(context["messages"] as? [[String: Any]])
                let omitted = try #require(context["omitted_messages"] as? Int)
                #expect(omitted >= 0 && omitted == count - messages.count, "count \(count), kept \(messages.count), omitted \(omitted)")
                #expect((messages.last?["seq"] as? Int ?? 0) == count, "the newest message read is not the session's last")
                checked += 1
            }
            try await writer.value
        }
    }
}
