import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Creates a session for `user` and returns its id.
func createSession(_ client: some TestClientProtocol, user: String, title: String = "t") async throws -> String {
    let response = try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "\#(title)"}"#)
    #expect(response.status == .created)
    return try #require(try json(response)["id"] as? String)
}

/// JSON text of a string, escaped.
func quoted(_ text: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
}

@Suite("Messages")
struct MessagesEndpointTests {
    @Test("store returns 201 with the full message and updates the session's counters")
    func store() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let first = try await client.call(
                .post, "/db/messages/store", as: user,
                json: #"{"session_id": "\#(session)", "role": "user", "content": "héllo wörld!!", "metadata": {"k": [1, 2]}}"#)
            #expect(first.status == .created)
            let message = try json(first)
            let id = try #require(message["id"] as? String)
            #expect(first.headers[.location] == "/db/messages/\(id)")
            #expect(message["session_id"] as? String == session)
            #expect(message["seq"] as? Int == 1)
            #expect(message["role"] as? String == "user")
            #expect(message["content"] as? String == "héllo wörld!!")
            // Counted exactly (tiktoken 0.14.0: o200k_base 6, cl100k_base 7), not estimated.
            #expect(message["token_count"] as? Int == 6)
            #expect(message["token_count_estimated"] as? Bool == false)
            #expect(message["tokens"] as? [String: Int] == ["o200k_base": 6, "cl100k_base": 7])
            #expect(message["model"] is NSNull)
            #expect(message["metadata"] as? [String: [Int]] == ["k": [1, 2]])
            let second = try json(
                try await client.call(
                    .post, "/db/messages/store", as: user,
                    json: #"{"session_id": "\#(session)", "role": "assistant", "content": "hi", "token_count": 7, "model": "gpt-x"}"#))
            #expect(second["seq"] as? Int == 2)
            #expect(second["token_count"] as? Int == 7)
            #expect(second["token_count_estimated"] as? Bool == false)
            #expect(second["model"] as? String == "gpt-x")

            let updated = try json(try await client.call(.get, "/db/sessions/\(session)", as: user))
            #expect(updated["message_count"] as? Int == 2)
            #expect(updated["total_tokens"] as? Int == 13)
            #expect(updated["last_message_at"] as? String == second["created_at"] as? String)
            #expect(try json(try await client.call(.get, "/db/messages/\(id)", as: user))["content"] as? String == "héllo wörld!!")
            try expectProblem(try await client.call(.get, "/db/messages/\(id)", as: uniqueUser("other")), .notFound)
        }
    }

    @Test("200 concurrent stores into one session get seq 1…200")
    func concurrentStores() async throws {
        let user = uniqueUser()
        // Each store on its own connection, so they really run at once; a long acquire timeout,
        // so a loaded machine cannot turn the queue for the pool into 503s.
        try await withAPI(pool: { $0.acquireTimeout = .seconds(120) }) { client in
            let session = try await createSession(client, user: user)
            let port = try #require(client.port)
            let seqs = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let (status, body) = try await callOnOwnConnection(
                            port: port, .post, "/db/messages/store", as: user,
                            json: #"{"session_id": "\#(session)", "role": "user", "content": "m\#(index)", "token_count": 1}"#)
                        #expect(status == .created)
                        let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
                        return object?["seq"] as? Int ?? -1
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(seqs.sorted() == Array(1...200))
            let updated = try json(try await client.call(.get, "/db/sessions/\(session)", as: user))
            #expect(updated["message_count"] as? Int == 200)
            #expect(updated["total_tokens"] as? Int == 200)
        }
    }

    @Test("a batch is stored in order, all or nothing, bad items named by index")
    func batch() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let good = try await client.call(
                .post, "/db/messages/batch", as: user,
                json: #"{"session_id": "\#(session)", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}"#)
            #expect(good.status == .created)
            let items = try #require(try json(good)["items"] as? [[String: Any]])
            #expect(items.map { $0["seq"] as? Int } == [1, 2, 3])
            #expect(items.map { $0["content"] as? String } == ["be brief", "q", "a"])

            let bad = try await client.call(
                .post, "/db/messages/batch", as: user,
                json: #"{"session_id": "\#(session)", "messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": "ok"}, {"role": "robot", "content": 5}]}"#)
            try expectProblem(bad, .unprocessableContent, fields: ["messages[2].role", "messages[2].content"])
            try expectProblem(
                try await client.call(.post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": []}"#),
                .unprocessableContent, fields: ["messages"])
            let tooMany = "[" + Array(repeating: #"{"role": "user", "content": "x"}"#, count: 1001).joined(separator: ",") + "]"
            try expectProblem(
                try await client.call(.post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": \#(tooMany)}"#),
                .unprocessableContent, fields: ["messages"])
            // Nothing of the refused batches was stored.
            #expect(try json(try await client.call(.get, "/db/sessions/\(session)", as: user))["message_count"] as? Int == 3)
        }
    }

    @Test("unknown, foreign and archived sessions; malformed ids")
    func sessionErrors() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let message = #""role": "user", "content": "x""#
            try expectProblem(
                try await client.call(.post, "/db/messages/store", as: user, json: #"{"session_id": "\#(UUID())", \#(message)}"#), .notFound)
            try expectProblem(
                try await client.call(.post, "/db/messages/store", as: uniqueUser("other"), json: #"{"session_id": "\#(session)", \#(message)}"#),
                .notFound)
            try expectProblem(
                try await client.call(.post, "/db/messages/store", as: user, json: #"{"session_id": "nope", \#(message)}"#),
                .unprocessableContent, fields: ["session_id"])
            try expectProblem(
                try await client.call(.post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)"}"#),
                .unprocessableContent, fields: ["role", "content"])
            _ = try await client.call(.patch, "/db/sessions/\(session)", as: user, json: #"{"status": "archived"}"#)
            try expectProblem(
                try await client.call(.post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)", \#(message)}"#), .conflict)
            try expectProblem(try await client.call(.get, "/db/sessions/\(UUID())/messages", as: user), .notFound)
            try expectProblem(try await client.call(.get, "/db/messages/zzz", as: user), .notFound)
        }
    }

    @Test("hostile and large content is stored verbatim; over 256 KiB is 422", arguments: [
        "'; DROP TABLE messages; --", "emoji 👩‍👩‍👧 🧪", "מה שלומך؟ مرحبا", "tab\tand\nnewline \\ \"quoted\"",
        String(repeating: "é", count: 100_000),
    ])
    func hostileContent(_ content: String) async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let stored = try await client.call(
                .post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)", "role": "user", "content": \#(quoted(content))}"#)
            #expect(stored.status == .created)
            let id = try json(stored)["id"] as! String
            #expect(try json(try await client.call(.get, "/db/messages/\(id)", as: user))["content"] as? String == content)
            let tooBig = String(repeating: "x", count: 256 * 1024 + 1)
            try expectProblem(
                try await client.call(.post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)", "role": "user", "content": "\#(tooBig)"}"#),
                .unprocessableContent, fields: ["content"])
        }
    }

    @Test("pages in both orders return every message once, in order")
    func pages() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let batch = (1...25).map { #"{"role": "user", "content": "m\#($0)"}"# }.joined(separator: ",")
            _ = try await client.call(.post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(batch)]}"#)
            for order in ["asc", "desc"] {
                var seqs: [Int] = []
                var cursor: String?
                repeat {
                    let uri = "/db/sessions/\(session)/messages?limit=10&order=\(order)" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let page = try json(try await client.call(.get, uri, as: user))
                    seqs += (page["items"] as! [[String: Any]]).map { $0["seq"] as! Int }
                    cursor = page["next_cursor"] as? String
                } while cursor != nil && seqs.count < 100
                #expect(seqs == (order == "asc" ? Array(1...25) : Array((1...25).reversed())))
            }
            let first = try json(try await client.call(.get, "/db/sessions/\(session)/messages", as: user))
            #expect((first["items"] as! [[String: Any]]).count == 25)
            #expect(first["next_cursor"] is NSNull)
            try expectProblem(try await client.call(.get, "/db/sessions/\(session)/messages?limit=201", as: user), .unprocessableContent, fields: ["limit"])
            try expectProblem(try await client.call(.get, "/db/sessions/\(session)/messages?order=up", as: user), .unprocessableContent, fields: ["order"])
            try expectProblem(try await client.call(.get, "/db/sessions/\(session)/messages?cursor=abc", as: user), .badRequest, fields: ["cursor"])
        }
    }
}
