import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import TestSupport
import Testing

@Suite("Sessions")
struct SessionsEndpointTests {
    @Test("create returns 201, the full session and its Location; get returns the same")
    func createAndGet() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let created = try await client.call(
                .post, "/db/sessions/create", as: user,
                json: #"{"title": "Ünïcode 🧪 research", "metadata": {"n": 9007199254740993, "x": [1.5, null], "s": "مرحبا"}, "ignored": 1}"#)
            #expect(created.status == .created)
            let session = try json(created)
            let id = try #require(session["id"] as? String)
            #expect(UUID(uuidString: id) != nil)
            #expect(created.headers[.location] == "/db/sessions/\(id)")
            #expect(session["user_id"] as? String == user)
            #expect(session["title"] as? String == "Ünïcode 🧪 research")
            #expect(session["status"] as? String == "active")
            #expect(session["message_count"] as? Int == 0)
            #expect(session["total_tokens"] as? Int == 0)
            #expect(session["last_message_at"] is NSNull)
            let createdAt = try #require(session["created_at"] as? String)
            #expect(createdAt.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
            #expect(session["updated_at"] as? String == createdAt)
            // Numbers in metadata round-trip exactly (no Double in between).
            #expect(String(buffer: created.body).contains("9007199254740993"))
            #expect(session["ignored"] == nil)

            let fetched = try await client.call(.get, "/db/sessions/\(id)", as: user)
            #expect(fetched.status == .ok)
            #expect(String(buffer: fetched.body) == String(buffer: created.body))
            #expect(fetched.headers[HTTPField.Name("X-Request-ID")!] != nil)
        }
    }

    @Test("omitted metadata is {}; an admin may create for another user, a non-admin may not")
    func ownership() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let created = try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "t"}"#)
            #expect(String(buffer: created.body).contains(#""metadata":{}"#))
            let other = uniqueUser("other")
            let refused = try await client.call(
                .post, "/db/sessions/create", as: user, json: #"{"title": "t", "user_id": "\#(other)"}"#)
            try expectProblem(refused, .forbidden)
            let byAdmin = try await client.call(
                .post, "/db/sessions/create", as: "admin-1", admin: true, json: #"{"title": "t", "user_id": "\#(other)"}"#)
            #expect(byAdmin.status == .created)
            #expect(try json(byAdmin)["user_id"] as? String == other)
        }
    }

    @Test("bad input: 400 for non-JSON, 422 naming every bad field, nothing stored")
    func badInput() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            try expectProblem(try await client.call(.post, "/db/sessions/create", as: user, json: "{not json"), .badRequest)
            try expectProblem(try await client.call(.post, "/db/sessions/create", as: user, json: "[1]"), .badRequest)
            try expectProblem(
                try await client.call(
                    .post, "/db/sessions/create", as: user, json: #"{"title": "t"}"#, headers: [.contentType: "text/plain"]),
                .badRequest)
            let invalid = try await client.call(
                .post, "/db/sessions/create", as: user,
                json: #"{"title": "\#(String(repeating: "x", count: 201))", "metadata": [1], "user_id": "bad id!"}"#)
            try expectProblem(invalid, .unprocessableContent, fields: ["user_id", "title", "metadata"])
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "a\u0000b"}"#),
                .unprocessableContent, fields: ["title"])
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "t", "metadata": {"big": 1e400}}"#),
                .unprocessableContent, fields: ["metadata.big"])
            let deep = String(repeating: #"{"a":"#, count: 32) + "1" + String(repeating: "}", count: 32)
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "t", "metadata": \#(deep)}"#),
                .unprocessableContent, fields: ["metadata" + String(repeating: ".a", count: 31)])
            try expectProblem(try await client.call(.post, "/db/sessions/create", as: "no spaces allowed", json: #"{"title": "t"}"#), .unauthorized)
            // Nothing of the above was stored.
            let list = try await client.call(.get, "/db/sessions", as: user)
            #expect((try json(list)["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a body over 1 MiB is 413")
    func tooLarge() async throws {
        try await withAPI { client in
            let big = #"{"title": "t", "metadata": {"x": ""# + String(repeating: "a", count: 1_100_000) + #""}}"#
            try expectProblem(try await client.call(.post, "/db/sessions/create", as: uniqueUser(), json: big), .contentTooLarge)
        }
    }

    @Test("another user's session is 404, and so is a malformed id; an admin sees it")
    func scoping() async throws {
        let owner = uniqueUser()
        try await withAPI { client in
            let id = try json(try await client.call(.post, "/db/sessions/create", as: owner, json: #"{"title": "mine"}"#))["id"] as! String
            try expectProblem(try await client.call(.get, "/db/sessions/\(id)", as: uniqueUser("other")), .notFound)
            try expectProblem(try await client.call(.patch, "/db/sessions/\(id)", as: uniqueUser("other"), json: #"{"title": "x"}"#), .notFound)
            try expectProblem(try await client.call(.delete, "/db/sessions/\(id)", as: uniqueUser("other")), .notFound)
            try expectProblem(try await client.call(.get, "/db/sessions/not-a-uuid", as: owner), .notFound)
            #expect(try await client.call(.get, "/db/sessions/\(id)", as: "root", admin: true).status == .ok)
        }
    }

    @Test("patch replaces the fields given (metadata whole) and bumps updated_at; delete is 204 then 404")
    func patchAndDelete() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let created = try json(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "a", "metadata": {"k": 1, "j": 2}}"#))
            let id = created["id"] as! String
            // The patch must come at a later millisecond than the creation, by the database's clock.
            let createdAt = created["updated_at"] as! String
            try #require(try await waitUntil(every: .milliseconds(1)) { try await databaseClockPassed(createdAt) })
            let patched = try await client.call(
                .patch, "/db/sessions/\(id)", as: user, json: #"{"status": "archived", "metadata": {"only": true}}"#)
            #expect(patched.status == .ok)
            let body = try json(patched)
            #expect(body["title"] as? String == "a")
            #expect(body["status"] as? String == "archived")
            #expect(body["metadata"] as? [String: Bool] == ["only": true])
            #expect((body["updated_at"] as! String) > (created["updated_at"] as! String))
            try expectProblem(
                try await client.call(.patch, "/db/sessions/\(id)", as: user, json: #"{"status": "deleted", "title": ""}"#),
                .unprocessableContent, fields: ["title", "status"])
            #expect(try await client.call(.delete, "/db/sessions/\(id)", as: user).status == .noContent)
            try expectProblem(try await client.call(.get, "/db/sessions/\(id)", as: user), .notFound)
            try expectProblem(try await client.call(.delete, "/db/sessions/\(id)", as: user), .notFound)
        }
    }

    @Test("walking every page returns each session once, most recently updated first")
    func pagination() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            var created: [String] = []
            for index in 0..<7 {
                let body = try json(try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "s\#(index)"}"#))
                created.append(body["id"] as! String)
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/db/sessions?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try json(try await client.call(.get, uri, as: user))
                seen += (page["items"] as! [[String: Any]]).map { $0["id"] as! String }
                cursor = page["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == created.reversed())
        }
    }

    @Test("list errors: limit 0 or over 100 is 422, a forged cursor 400, another user's list 403 (admins may)")
    func listErrors() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            try expectProblem(try await client.call(.get, "/db/sessions?limit=0", as: user), .unprocessableContent, fields: ["limit"])
            try expectProblem(try await client.call(.get, "/db/sessions?limit=101", as: user), .unprocessableContent, fields: ["limit"])
            try expectProblem(try await client.call(.get, "/db/sessions?cursor=forged", as: user), .badRequest, fields: ["cursor"])
            try expectProblem(try await client.call(.get, "/db/sessions?user_id=bad%20id", as: user), .unprocessableContent, fields: ["user_id"])
            try expectProblem(try await client.call(.get, "/db/sessions?user_id=someone-else", as: user), .forbidden)
            #expect(try await client.call(.get, "/db/sessions?user_id=someone-else", as: "root", admin: true).status == .ok)
        }
    }

    @Test("an explicit null is not absent: null for a non-nullable field is 422 naming it, and changes nothing")
    func explicitNulls() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let id = try await createSession(client, user: user, title: "kept")
            for field in ["title", "status", "metadata"] {
                try expectProblem(
                    try await client.call(.patch, "/db/sessions/\(id)", as: user, json: #"{"\#(field)": null}"#),
                    .unprocessableContent, fields: [field])
            }
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "t", "metadata": null}"#),
                .unprocessableContent, fields: ["metadata"])
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": null}"#),
                .unprocessableContent, fields: ["title"])
            let session = try json(try await client.call(.get, "/db/sessions/\(id)", as: user))
            #expect(session["title"] as? String == "kept" && session["status"] as? String == "active")
            // A nullable field may be null: a message's model.
            let stored = try await client.call(
                .post, "/db/messages/store", as: user,
                json: #"{"session_id": "\#(id)", "role": "assistant", "content": "x", "model": null}"#)
            #expect(stored.status == .created, "\(String(buffer: stored.body))")
        }
    }
}
