import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

/// Gives `user` a row in every table that can hold or mention them; returns the ids made.
func populate(_ client: some TestClientProtocol, user: String) async throws -> (sessions: [String], messages: [String], research: [String]) {
    let sessions = [
        try await createSession(client, user: user, title: "first"), try await createSession(client, user: user, title: "second"),
    ]
    var messages: [String] = []
    for (index, session) in sessions.enumerated() {
        for turn in 0..<3 { messages.append(try await storeMessage(client, user: user, session: session, content: "secret \(user) \(index).\(turn)")) }
    }
    let research = try await createResearch(client, user: user, session: sessions[0])
    #expect(try await client.call(.patch, "/db/research/\(research)", as: user, json: #"{"status": "running"}"#).status == .ok)
    #expect(
        try await client.call(.patch, "/db/research/\(research)", as: user, json: #"{"status": "completed", "result": {"answer": "42"}}"#).status == .ok)
    for (type, target) in [("session", sessions[1]), ("research", research), ("message", messages[0])] {
        #expect(
            try await client.call(.post, "/db/feedback", as: user, json: #"{"target_type": "\#(type)", "target_id": "\#(target)", "rating": 4}"#).status
                == .created)
    }
    let usage = #""provider": "p", "model": "m", "prompt_tokens": 1, "completion_tokens": 2, "duration_ms": 3"#
    #expect(try await client.call(.post, "/db/llm-usage", as: user, json: "{\(usage), \"session_id\": \"\(sessions[0])\"}").status == .created)
    #expect(try await client.call(.post, "/db/llm-usage", as: user, json: "{\(usage)}").status == .created)
    #expect(
        try await client.call(
            .post, "/db/analytics/batch", as: user,
            json: #"{"events": [{"event_type": "view", "session_id": "\#(sessions[1])"}, {"event_type": "login"}]}"#
        ).status == .accepted)
    #expect(
        try await client.call(
            .post, "/db/analytics/log", as: user, json: #"{"event_type": "keyed"}"#,
            headers: [HTTPField.Name("Idempotency-Key")!: "key-\(user)"]
        ).status == .accepted)
    #expect(try await client.call(.put, "/db/cache/cache-of-\(user)", as: user, json: #"{"value": {"q": 1}, "ttl_seconds": 60}"#).status == .ok)
    return (sessions, messages, research: [research])
}

@Suite("Users, export and erasure")
struct UsersEndpointTests {
    @Test("the user record is for the user and admins; others and unknown users get 404")
    func record() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            _ = try await createSession(client, user: user)
            let session = try await createSession(client, user: user)
            _ = try await storeMessage(client, user: user, session: session)
            let response = try await client.call(.get, "/db/users/\(user)", as: user)
            #expect(response.status == .ok)
            let record = try json(response)
            #expect(Set(record.keys) == ["id", "first_seen", "last_seen", "session_count"])
            #expect(record["id"] as? String == user)
            #expect(record["session_count"] as? Int == 2)
            let updated = try json(try await client.call(.get, "/db/sessions/\(session)", as: user))["updated_at"] as? String
            #expect(record["last_seen"] as? String == updated)
            #expect((record["first_seen"] as? String ?? "~") < (record["last_seen"] as? String ?? ""))
            #expect(try await client.call(.get, "/db/users/\(user)", as: "ops", admin: true).status == .ok)
            try expectProblem(try await client.call(.get, "/db/users/\(user)", as: uniqueUser("other")), .notFound)
            let nobody = uniqueUser("nobody")
            try expectProblem(try await client.call(.get, "/db/users/\(nobody)", as: nobody), .notFound)
            try expectProblem(try await client.call(.get, "/db/users/bad%20id", as: "ops", admin: true), .notFound)
            try expectProblem(try await client.call(.get, "/db/users/\(user)/export", as: uniqueUser("other")), .notFound)
            try expectProblem(try await client.call(.delete, "/db/users/\(user)", as: uniqueUser("other")), .notFound)
            #expect(try await client.call(.get, "/db/users/\(user)", as: user).status == .ok)
        }
    }

    @Test("the export holds every row of the user, in the contract's shape, and nothing of anyone else")
    func export() async throws {
        let user = uniqueUser()
        let other = uniqueUser("other")
        try await withAPI { client in
            let made = try await populate(client, user: user)
            let theirs = try await populate(client, user: other)
            let response = try await client.call(.get, "/db/users/\(user)/export", as: user)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let text = String(buffer: response.body)
            for id in theirs.sessions + theirs.messages + theirs.research + [other] { #expect(!text.contains(id)) }
            let document = try json(response)
            #expect(Array(document.keys).sorted() == ["analytics_events", "feedback", "llm_usage", "sessions", "user"])
            #expect((document["user"] as? [String: Any])?["id"] as? String == user)
            #expect((document["user"] as? [String: Any])?["session_count"] as? Int == 2)
            let sessions = try #require(document["sessions"] as? [[String: Any]])
            #expect(Set(sessions.compactMap { $0["id"] as? String }) == Set(made.sessions))
            let sessionKeys: Set<String> = [
                "id", "user_id", "title", "status", "metadata", "message_count", "total_tokens", "created_at", "updated_at", "last_message_at",
                "messages", "research",
            ]
            for session in sessions {
                #expect(Set(session.keys) == sessionKeys)
                let messages = try #require(session["messages"] as? [[String: Any]])
                #expect(messages.compactMap { $0["seq"] as? Int } == [1, 2, 3])
                #expect(messages.allSatisfy { ($0["content"] as? String)?.hasPrefix("secret \(user)") == true && $0["token_count_estimated"] != nil })
            }
            let research = sessions.flatMap { $0["research"] as? [[String: Any]] ?? [] }
            #expect(research.compactMap { $0["id"] as? String } == made.research)
            #expect((research.first?["history"] as? [[String: Any]])?.compactMap { $0["status"] as? String } == ["pending", "running", "completed"])
            #expect(sessions.flatMap { $0["messages"] as? [[String: Any]] ?? [] }.compactMap { $0["id"] as? String }.sorted() == made.messages.sorted())
            let feedback = try #require(document["feedback"] as? [[String: Any]])
            #expect(feedback.compactMap { $0["target_type"] as? String }.sorted() == ["message", "research", "session"])
            let usage = try #require(document["llm_usage"] as? [[String: Any]])
            #expect(usage.count == 2 && usage.allSatisfy { $0["user_id"] as? String == user && $0["total_tokens"] as? Int == 3 })
            let events = try #require(document["analytics_events"] as? [[String: Any]])
            #expect(events.compactMap { $0["event_type"] as? String }.sorted() == ["keyed", "login", "view"])
            #expect(try await client.call(.get, "/db/users/\(user)/export", as: "ops", admin: true).status == .ok)
        }
    }

    @Test("a user with thousands of messages over more sessions than a page is exported completely and in order")
    func largeExport() async throws {
        let user = uniqueUser("large")
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            for batch in 0..<6 {
                let items = (0..<500).map { #"{"role": "user", "content": "m\#(batch * 500 + $0)"}"# }.joined(separator: ",")
                let response = try await client.call(
                    .post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(items)]}"#)
                #expect(response.status == .created)
            }
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    "INSERT INTO sessions (id, user_id, title) SELECT gen_random_uuid(), \(user), 'extra ' || i FROM generate_series(1, 250) i")
            }
            let document = try json(try await client.call(.get, "/db/users/\(user)/export", as: user))
            let sessions = try #require(document["sessions"] as? [[String: Any]])
            #expect(sessions.count == 251)
            #expect(Set(sessions.compactMap { $0["id"] as? String }).count == 251)
            let big = try #require(sessions.first { $0["id"] as? String == session })
            let messages = try #require(big["messages"] as? [[String: Any]])
            #expect(messages.count == 3000)
            #expect(messages.compactMap { $0["seq"] as? Int } == Array(1...3000))
            #expect(messages.compactMap { $0["content"] as? String } == (0..<3000).map { "m\($0)" })
        }
    }

    @Test("erasure removes the user from every table in one go, keeps others, and is audited without data")
    func erasure() async throws {
        let user = uniqueUser("gone")
        let other = uniqueUser("kept")
        try await withAPI { client in
            let made = try await populate(client, user: user)
            _ = try await populate(client, user: other)
            let otherBefore = try await rowsMentioning(other)
            #expect(otherBefore.values.allSatisfy { $0 > 0 }, "\(otherBefore)")
            let before = try await rowsMentioning(user)
            #expect(before.values.allSatisfy { $0 > 0 }, "every table should hold the user before: \(before)")

            try expectProblem(try await client.call(.delete, "/db/users/\(user)", as: other), .notFound)
            #expect(try await rowsMentioning(user) == before)
            #expect(try await client.call(.delete, "/db/users/\(user)", as: user).status == .noContent)

            let after = try await rowsMentioning(user)
            #expect(after.values.allSatisfy { $0 == 0 }, "left behind: \(after.filter { $0.value > 0 })")
            let orphans = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    """
                    SELECT (SELECT count(*) FROM messages WHERE id = ANY(\(made.messages.compactMap(UUID.init(uuidString:))))),
                           (SELECT count(*) FROM research_status_history WHERE research_id = ANY(\(made.research.compactMap(UUID.init(uuidString:))))),
                           (SELECT count(*) FROM feedback WHERE target_id = ANY(\((made.sessions + made.messages + made.research).compactMap(UUID.init(uuidString:)))))
                    """)[0].decode((Int, Int, Int).self)
            }
            #expect(orphans == (0, 0, 0))
            #expect(try await rowsMentioning(other) == otherBefore)

            let audit = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    "SELECT action, actor_user_id, details::text FROM audit_log WHERE target_type = 'user' AND target_id = \(user)"
                ).map { try $0.decode((String, String, String).self) }
            }
            #expect(audit.count == 1)
            #expect(audit.first?.0 == "user.erase" && audit.first?.1 == user)
            let details = try #require(try JSONSerialization.jsonObject(with: Data((audit.first?.2 ?? "").utf8)) as? [String: Int])
            #expect(details["sessions"] == 2 && details["messages"] == 6 && details["feedback"] == 3 && details["llm_usage"] == 2)
            #expect(details["analytics_events"] == 3 && details["idempotency_keys"] == 1 && details["result_cache"] == 1)
            let detailsText = audit.first?.2 ?? ""
            #expect(detailsText.range(of: "secret") == nil, "content in the audit trail: \(detailsText)")

            // Every route answers as if the user never existed.
            try expectProblem(try await client.call(.get, "/db/users/\(user)", as: user), .notFound)
            try expectProblem(try await client.call(.get, "/db/users/\(user)/export", as: "ops", admin: true), .notFound)
            try expectProblem(try await client.call(.delete, "/db/users/\(user)", as: user), .notFound)
            try expectProblem(try await client.call(.get, "/db/sessions/\(made.sessions[0])", as: user), .notFound)
            try expectProblem(try await client.call(.get, "/db/messages/\(made.messages[0])", as: "ops", admin: true), .notFound)
            try expectProblem(try await client.call(.get, "/db/research/\(made.research[0])", as: user), .notFound)
            try expectProblem(try await client.call(.get, "/db/cache/cache-of-\(user)", as: user), .notFound)
            let list = try json(try await client.call(.get, "/db/sessions", as: user))
            #expect((list["items"] as? [Any])?.isEmpty == true)
            let summary = try json(try await client.call(.get, "/db/analytics/summary", as: user))
            #expect((summary["event_types"] as? [Any])?.isEmpty == true)
            // The same Idempotency-Key now creates anew instead of replaying.
            let again = try await client.call(
                .post, "/db/analytics/log", as: user, json: #"{"event_type": "keyed"}"#, headers: [HTTPField.Name("Idempotency-Key")!: "key-\(user)"])
            #expect(again.status == .accepted && again.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
        }
    }

    @Test("an admin may erase any user; the audit entry names the admin")
    func adminErasure() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            _ = try await createSession(client, user: user)
            #expect(try await client.call(.delete, "/db/users/\(user)", as: "ops", admin: true).status == .noContent)
            let actor = try await TestDatabase.withConnection { connection in
                try await connection.query("SELECT actor_user_id FROM audit_log WHERE action = 'user.erase' AND target_id = \(user)")[0]
                    .decode(0, as: String.self)
            }
            #expect(actor == "ops")
            #expect(try await rowsMentioning(user).values.allSatisfy { $0 == 0 })
        }
    }

    /// Rows naming `user`, per table: every table with a `user_id` column (found in the catalog,
    /// so a new table is covered without editing this test) plus the cache's `created_by`.
    func rowsMentioning(_ user: String) async throws -> [String: Int] {
        try await TestDatabase.withConnection { connection in
            let tables = try await connection.query(
                """
                SELECT table_name FROM information_schema.columns
                WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY table_name
                """
            ).map { try $0.decode(0, as: String.self) }
            var counts: [String: Int] = [:]
            for table in tables {
                counts[table] = try await connection.query(
                    "SELECT count(*) FROM \(identifier: table) WHERE user_id = \(user)")[0].decode(0, as: Int.self)
            }
            counts["result_cache"] = try await connection.query(
                "SELECT count(*) FROM result_cache WHERE created_by = \(user)")[0].decode(0, as: Int.self)
            counts["users"] = try await connection.query("SELECT count(*) FROM users WHERE id = \(user)")[0].decode(0, as: Int.self)
            return counts
        }
    }
}
