import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@Suite("Research requests")
struct ResearchEndpointTests {
    func createResearch(_ client: some TestClientProtocol, user: String, session: String, workflow: String = "deep.search") async throws -> [String: Any] {
        let response = try await client.call(
            .post, "/db/research/create", as: user,
            json: #"{"session_id": "\#(session)", "question": "Why is the sky blue?", "workflow_type": "\#(workflow)", "parameters": {"depth": 3}}"#)
        #expect(response.status == .created, "\(String(buffer: response.body))")
        return try json(response)
    }

    @Test("create is pending with its history; running then completed sets the times and the duration")
    func lifecycle() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let created = try await createResearch(client, user: user, session: session)
            let id = try #require(created["id"] as? String)
            #expect(created["status"] as? String == "pending")
            #expect(created["session_id"] as? String == session)
            #expect(created["parameters"] as? [String: Int] == ["depth": 3])
            #expect(created["result"] is NSNull && created["error"] is NSNull)
            #expect(created["sources"] as? [String] == [])
            #expect(created["started_at"] is NSNull && created["finished_at"] is NSNull && created["duration_ms"] is NSNull)
            let history = try #require(created["history"] as? [[String: String]])
            #expect(history == [["status": "pending", "at": created["created_at"] as! String]])

            let running = try json(try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "running"}"#))
            #expect(running["status"] as? String == "running")
            #expect(running["started_at"] as? String != nil)
            // At least 20 ms pass by the database's clock, which measures the duration.
            let startedAt = try #require(running["started_at"] as? String)
            try #require(try await waitUntil(every: .milliseconds(5)) { try await databaseClockPassed(startedAt, by: 25) })
            let done = try await client.call(
                .patch, "/db/research/\(id)", as: user,
                json: #"{"status": "completed", "result": {"answer": "Rayleigh"}, "sources": ["https://example.org/a"]}"#)
            #expect(done.status == .ok)
            let completed = try json(done)
            #expect(completed["result"] as? [String: String] == ["answer": "Rayleigh"])
            #expect(completed["sources"] as? [String] == ["https://example.org/a"])
            let duration = try #require(completed["duration_ms"] as? Int)
            #expect(duration >= 20)
            #expect((completed["history"] as? [[String: String]])?.map { $0["status"]! } == ["pending", "running", "completed"])
            let fetched = try await client.call(.get, "/db/research/\(id)", as: user)
            #expect(String(buffer: fetched.body) == String(buffer: done.body))
            // It now appears in the session's context.
            let context = try json(try await client.call(.get, "/db/context/\(session)", as: user))
            #expect((context["research"] as? [[String: Any]])?.first?["id"] as? String == id)
        }
    }

    @Test("refused transitions are 409 with current_status; missing result or error is 422")
    func statusMachine() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let id = try await createResearch(client, user: user, session: session)["id"] as! String
            let skipped = try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "completed", "result": {}}"#)
            try expectProblem(skipped, .conflict)
            #expect(try json(skipped)["current_status"] as? String == "pending")
            try expectProblem(
                try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "completed"}"#),
                .unprocessableContent, fields: ["result"])
            try expectProblem(
                try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "failed"}"#),
                .unprocessableContent, fields: ["error"])
            try expectProblem(
                try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "done", "sources": [1]}"#),
                .unprocessableContent, fields: ["status", "sources[0]"])
            let cancelled = try json(try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "cancelled"}"#))
            #expect(cancelled["status"] as? String == "cancelled")
            #expect(cancelled["duration_ms"] is NSNull)  // it never ran
            let terminal = try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "running"}"#)
            try expectProblem(terminal, .conflict)
            #expect(try json(terminal)["current_status"] as? String == "cancelled")
            try expectProblem(try await client.call(.patch, "/db/research/\(id)", as: uniqueUser("x"), json: #"{"status": "running"}"#), .notFound)
            try expectProblem(try await client.call(.get, "/db/research/\(id)", as: uniqueUser("x")), .notFound)
        }
    }

    @Test("two racing PATCHes to completed and failed leave exactly one outcome")
    func race() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            for _ in 0..<10 {
                let id = try await createResearch(client, user: user, session: session)["id"] as! String
                _ = try await client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "running"}"#)
                async let complete = client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "completed", "result": {"a": 1}}"#)
                async let fail = client.call(.patch, "/db/research/\(id)", as: user, json: #"{"status": "failed", "error": "boom"}"#)
                let statuses = [try await complete.status, try await fail.status]
                #expect(statuses.filter { $0 == .ok }.count == 1)
                #expect(statuses.filter { $0 == .conflict }.count == 1)
                let final = try json(try await client.call(.get, "/db/research/\(id)", as: user))
                let history = (final["history"] as! [[String: String]]).map { $0["status"]! }
                #expect(history.count == 3)
                #expect(history.last == final["status"] as? String)
            }
        }
    }

    @Test("create errors: unknown or foreign session 404, bad fields 422")
    func createErrors() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            try expectProblem(
                try await client.call(.post, "/db/research/create", as: user, json: #"{"session_id": "\#(UUID())", "question": "q", "workflow_type": "w"}"#),
                .notFound)
            try expectProblem(
                try await client.call(.post, "/db/research/create", as: uniqueUser("x"), json: #"{"session_id": "\#(session)", "question": "q", "workflow_type": "w"}"#),
                .notFound)
            try expectProblem(
                try await client.call(.post, "/db/research/create", as: user, json: #"{"session_id": "\#(session)", "question": "", "workflow_type": "Bad Type", "parameters": 3}"#),
                .unprocessableContent, fields: ["question", "workflow_type", "parameters"])
        }
    }

    @Test("list: newest first, filters, pages; a foreign session filter is 404")
    func list() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let other = try await createSession(client, user: user)
            var ids: [String] = []
            for index in 0..<5 {
                ids.append(try await createResearch(client, user: user, session: session, workflow: index % 2 == 0 ? "even" : "odd")["id"] as! String)
            }
            _ = try await createResearch(client, user: user, session: other)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/db/research?session_id=\(session)&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try json(try await client.call(.get, uri, as: user))
                seen += (page["items"] as! [[String: Any]]).map { $0["id"] as! String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil && seen.count < 20
            #expect(seen == ids.reversed())
            let even = try json(try await client.call(.get, "/db/research?session_id=\(session)&workflow_type=even", as: user))
            #expect((even["items"] as! [[String: Any]]).count == 3)
            let all = try json(try await client.call(.get, "/db/research", as: user))
            #expect((all["items"] as! [[String: Any]]).count == 6)
            #expect(((all["items"] as! [[String: Any]])[0]["history"] as? [Any])?.count == 1)
            try expectProblem(try await client.call(.get, "/db/research?session_id=\(session)", as: uniqueUser("x")), .notFound)
            try expectProblem(try await client.call(.get, "/db/research?session_id=zzz&status=nope", as: user),
                .unprocessableContent, fields: ["session_id", "status"])
        }
    }
}
