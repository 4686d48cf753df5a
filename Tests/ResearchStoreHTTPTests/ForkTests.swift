import Foundation
import HTTPTypes
import HummingbirdTesting
import TestSupport
import Testing

/// `POST /db/sessions/{id}/fork`: a new session with copies of the source's first messages.
@Suite("Forking a session")
struct ForkTests {
    /// A session with metadata, five varied messages and a research request; its id.
    func source(_ client: some TestClientProtocol, user: String) async throws -> String {
        let created = try await client.call(
            .post, "/db/sessions/create", as: user, json: #"{"title": "Flow batteries", "metadata": {"topic": "storage"}}"#)
        let session = try #require(try json(created)["id"] as? String)
        let items = [
            #"{"role": "system", "content": "Be careful."}"#,
            #"{"role": "user", "content": "How do they age? 東京 👩‍👩‍👧‍👦", "token_count": 11}"#,
            #"{"role": "assistant", "content": "Slowly.", "model": "gpt-x", "metadata": {"sources": [1, 2]}}"#,
            #"{"role": "user", "content": ""}"#,
            #"{"role": "assistant", "content": "Membranes last."}"#,
        ]
        let stored = try await client.call(
            .post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(items.joined(separator: ","))]}"#)
        #expect(stored.status == .created)
        let research = try await client.call(
            .post, "/db/research/create", as: user, json: #"{"session_id": "\#(session)", "question": "q", "workflow_type": "w"}"#)
        #expect(research.status == .created)
        return session
    }

    func messages(_ client: some TestClientProtocol, user: String, session: String) async throws -> [[String: Any]] {
        try #require(try json(try await client.call(.get, "/db/sessions/\(session)/messages?limit=200", as: user))["items"] as? [[String: Any]])
    }

    /// A message without what a copy changes (its id, session and time).
    func comparable(_ message: [String: Any]) -> NSDictionary {
        var copy = message
        copy["id"] = nil
        copy["session_id"] = nil
        copy["created_at"] = nil
        return copy as NSDictionary
    }

    @Test("copies messages 1…up_to_seq as they are, under new ids; forked_from in the metadata; research stays behind")
    func copies() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await source(client, user: user)
            let original = try await messages(client, user: user, session: session)
            let response = try await client.call(
                .post, "/db/sessions/\(session)/fork", as: user, json: #"{"up_to_seq": 3, "title": "Another angle"}"#)
            #expect(response.status == .created)
            let fork = try json(response)
            let forkID = try #require(fork["id"] as? String)
            #expect(response.headers[.location] == "/db/sessions/\(forkID)")
            #expect(forkID != session)
            #expect(fork["user_id"] as? String == user)
            #expect(fork["title"] as? String == "Another angle")
            #expect(fork["status"] as? String == "active")
            #expect(fork["message_count"] as? Int == 3)
            let firstThree = original.prefix(3)
            #expect(fork["total_tokens"] as? Int == firstThree.reduce(0) { $0 + ($1["token_count"] as! Int) })
            #expect(fork["last_message_at"] as? String == fork["created_at"] as? String)
            let metadata = try #require(fork["metadata"] as? [String: Any])
            #expect(metadata["topic"] as? String == "storage")
            #expect(metadata["forked_from"] as? NSDictionary == ["session_id": session, "seq": 3] as NSDictionary)

            let copied = try await messages(client, user: user, session: forkID)
            #expect(copied.count == 3)
            for (copy, source) in zip(copied, firstThree) {
                #expect(comparable(copy) == comparable(source))
                #expect(copy["id"] as? String != source["id"] as? String)
                #expect(copy["session_id"] as? String == forkID)
                #expect(copy["created_at"] as? String == fork["created_at"] as? String)
            }
            let research = try json(try await client.call(.get, "/db/research?session_id=\(forkID)", as: user))
            #expect((research["items"] as? [Any])?.isEmpty == true)

            // The fork goes on from its own last seq; the source is untouched.
            let next = try await client.call(
                .post, "/db/messages/store", as: user, json: #"{"session_id": "\#(forkID)", "expected_seq": 4, "role": "user", "content": "and?"}"#)
            #expect(next.status == .created)
            #expect(try await messages(client, user: user, session: session).count == 5)

            // Without up_to_seq: every message, and the source's title.
            let whole = try json(try await client.call(.post, "/db/sessions/\(session)/fork", as: user, json: "{}"))
            #expect(whole["message_count"] as? Int == 5)
            #expect(whole["title"] as? String == "Flow batteries")
            #expect((whole["metadata"] as? [String: Any])?["forked_from"] as? NSDictionary == ["session_id": session, "seq": 5] as NSDictionary)
            let all = try await messages(client, user: user, session: try #require(whole["id"] as? String))
            #expect(all.map(comparable) == original.map(comparable))

            // A fork of nothing is an empty session.
            let empty = try json(try await client.call(.post, "/db/sessions/\(session)/fork", as: user, json: #"{"up_to_seq": 0}"#))
            #expect(empty["message_count"] as? Int == 0 && empty["last_message_at"] is NSNull)
        }
    }

    @Test("up_to_seq beyond the last seq and bad values are 422 and create nothing; another user's session is 404; an admin's fork stays the owner's")
    func refusals() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await source(client, user: user)
            let before = try json(try await client.call(.get, "/db/sessions?limit=100", as: user))["items"] as? [Any]
            for (body, field) in [
                (#"{"up_to_seq": 6}"#, "up_to_seq"), (#"{"up_to_seq": -1}"#, "up_to_seq"), (#"{"up_to_seq": "3"}"#, "up_to_seq"),
                (#"{"up_to_seq": 99999999999}"#, "up_to_seq"), (#"{"title": ""}"#, "title"), (#"{"title": 7}"#, "title"),
            ] {
                try expectProblem(
                    try await client.call(.post, "/db/sessions/\(session)/fork", as: user, json: body), .unprocessableContent,
                    fields: [field])
            }
            let after = try json(try await client.call(.get, "/db/sessions?limit=100", as: user))["items"] as? [Any]
            #expect(before?.count == after?.count)
            try expectProblem(try await client.call(.post, "/db/sessions/\(session)/fork", as: uniqueUser("other"), json: "{}"), .notFound)
            try expectProblem(try await client.call(.post, "/db/sessions/\(UUID())/fork", as: user, json: "{}"), .notFound)
            try expectProblem(try await client.call(.post, "/db/sessions/not-a-uuid/fork", as: user, json: "{}"), .notFound)

            #expect(
                try await client.call(.patch, "/db/sessions/\(session)", as: user, json: #"{"status": "archived"}"#).status == .ok)
            let byAdmin = try await client.call(.post, "/db/sessions/\(session)/fork", as: uniqueUser("admin"), admin: true, json: "{}")
            #expect(byAdmin.status == .created)
            #expect(try json(byAdmin)["user_id"] as? String == user)
            #expect(try json(byAdmin)["status"] as? String == "active")
        }
    }
}
