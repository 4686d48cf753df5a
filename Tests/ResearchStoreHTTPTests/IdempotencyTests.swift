import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

@Suite("Idempotency-Key")
struct IdempotencyTests {
    let key = HTTPField.Name("Idempotency-Key")!
    let replayed = HTTPField.Name("Idempotent-Replayed")!

    func sessionCount(_ client: some TestClientProtocol, user: String) async throws -> Int {
        (try json(try await client.call(.get, "/db/sessions?limit=100", as: user))["items"] as! [Any]).count
    }

    @Test("a repeat returns the first response, marked replayed, and writes nothing")
    func replay() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let body = #"{"title": "once"}"#
            let first = try await client.call(.post, "/db/sessions/create", as: user, json: body, headers: [key: "k-1"])
            #expect(first.status == .created)
            #expect(first.headers[replayed] == nil)
            let second = try await client.call(.post, "/db/sessions/create", as: user, json: body, headers: [key: "k-1"])
            #expect(second.status == .created)
            #expect(second.headers[replayed] == "true")
            #expect(String(buffer: second.body) == String(buffer: first.body))
            #expect(second.headers[.location] == first.headers[.location])
            #expect(try await sessionCount(client, user: user) == 1)
            // The same key with another body is a conflict; another user's identical key is theirs.
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "twice"}"#, headers: [key: "k-1"]),
                .conflict)
            #expect(try await client.call(.post, "/db/sessions/create", as: uniqueUser("b"), json: body, headers: [key: "k-1"]).status == .created)
        }
    }

    @Test("concurrent duplicates create exactly one; the others replay or are told to retry")
    func concurrentDuplicates() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let response = try await client.call(
                            .post, "/db/messages/store", as: user,
                            json: #"{"session_id": "\#(session)", "role": "user", "content": "exactly once"}"#,
                            headers: [key: "dup-1"])
                        return (response.status, response.headers[.retryAfter])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0.0 == .created || ($0.0 == .conflict && $0.1 != nil) })
            let messages = try json(try await client.call(.get, "/db/sessions/\(session)/messages", as: user))
            #expect((messages["items"] as! [Any]).count == 1)
        }
    }

    @Test("a failed first attempt releases the key; batches and ingest are covered too")
    func failureReleases() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": ""}"#, headers: [key: "k-2"]),
                .unprocessableContent, fields: ["title"])
            #expect(try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "fixed"}"#, headers: [key: "k-2"]).status == .created)
            let events = #"{"events": [{"event_type": "a"}, {"event_type": "b"}]}"#
            let first = try await client.call(.post, "/db/analytics/batch", as: user, json: events, headers: [key: "k-3"])
            let again = try await client.call(.post, "/db/analytics/batch", as: user, json: events, headers: [key: "k-3"])
            #expect(first.status == .accepted && again.status == .accepted)
            #expect(again.headers[replayed] == "true")
            let summary = try json(try await client.call(.get, "/db/analytics/summary", as: user))
            #expect((summary["event_types"] as! [[String: Any]]).map { $0["count"] as! Int } == [1, 1])
        }
    }

    @Test("an empty key or one over 255 characters is 400")
    func badKeys() async throws {
        try await withAPI { client in
            for bad in ["", String(repeating: "k", count: 256)] {
                try expectProblem(
                    try await client.call(.post, "/db/sessions/create", as: uniqueUser(), json: #"{"title": "t"}"#, headers: [key: bad]),
                    .badRequest, fields: ["Idempotency-Key"])
            }
        }
    }

    @Test("a refused request (400/422) with a key writes nothing, not even the caller's user record")
    func refusedWritesNothing() async throws {
        let user = uniqueUser("refused")
        try await withAPI { client in
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": ""}"#, headers: [key: "r-1"]),
                .unprocessableContent, fields: ["title"])
            try expectProblem(
                try await client.call(.post, "/db/sessions/create", as: user, json: "{", headers: [key: "r-2"]), .badRequest)
            try expectProblem(try await client.call(.get, "/db/users/\(user)", as: user), .notFound)
        }
        let rows = try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT count(*) FROM idempotency_keys WHERE user_id = \(user)").first!.decode(0, as: Int.self)
        }
        #expect(rows == 0)
    }

    @Test("the write and its recorded response commit together: when recording fails, nothing was created")
    func writeAndRecordAreAtomic() async throws {
        let user = uniqueUser("atomic")
        let function = TestDatabase.uniqueName("fail_record")
        let keyValue = "fail-record-\(UUID().uuidString)"
        try await TestDatabase.withConnection { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: """
                    CREATE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION 'recording refused' USING ERRCODE = '53000'; END $$
                    """))
            try await connection.query(
                PostgresQuery(unsafeSQL: """
                    CREATE TRIGGER \(function) BEFORE INSERT OR UPDATE ON idempotency_keys FOR EACH ROW
                    WHEN (NEW.key = '\(keyValue)') EXECUTE FUNCTION \(function)()
                    """))
        }
        try await withAPI { client in
            let failed = try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "atomic"}"#, headers: [key: keyValue])
            try expectProblem(failed, .serviceUnavailable)
            #expect(try await sessionCount(client, user: user) == 0, "the session committed without its recorded response")
            try await TestDatabase.withConnection { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TRIGGER \(function) ON idempotency_keys"))
                try await connection.query(PostgresQuery(unsafeSQL: "DROP FUNCTION \(function)()"))
            }
            let retried = try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "atomic"}"#, headers: [key: keyValue])
            #expect(retried.status == .created && retried.headers[replayed] == nil)
            let again = try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "atomic"}"#, headers: [key: keyValue])
            #expect(again.status == .created && again.headers[replayed] == "true")
            #expect(try await sessionCount(client, user: user) == 1)
        }
    }
}
