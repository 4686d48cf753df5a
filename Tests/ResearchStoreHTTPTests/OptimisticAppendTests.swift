import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// `expected_seq` on `POST /db/messages/store` and `/batch`: stored only at that seq, else `409`
/// with `current_seq` and nothing stored.
@Suite("Optimistic appends")
struct OptimisticAppendTests {
    func store(_ client: some TestClientProtocol, user: String, session: String, expecting seq: Int, _ content: String = "m")
        async throws -> TestResponse
    {
        try await client.call(
            .post, "/db/messages/store", as: user,
            json: #"{"session_id": "\#(session)", "expected_seq": \#(seq), "role": "user", "content": "\#(content)"}"#)
    }

    func messageCount(_ client: some TestClientProtocol, user: String, session: String) async throws -> Int? {
        try json(try await client.call(.get, "/db/sessions/\(session)", as: user))["message_count"] as? Int
    }

    /// `current_seq` of a problem body, if any.
    static func currentSeq(_ body: ByteBuffer) -> Int? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["current_seq"] as? Int
    }

    @Test("stored when expected_seq is the next seq; otherwise 409 with current_seq, and nothing stored")
    func storeAndBatch() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let early = try await store(client, user: user, session: session, expecting: 2)
            try expectProblem(early, .conflict)
            #expect(try json(early)["current_seq"] as? Int == 0)
            let first = try await store(client, user: user, session: session, expecting: 1)
            #expect(first.status == .created)
            #expect(try json(first)["seq"] as? Int == 1)
            let again = try await store(client, user: user, session: session, expecting: 1)
            try expectProblem(again, .conflict)
            #expect(try json(again)["current_seq"] as? Int == 1)

            let items = (1...3).map { #"{"role": "user", "content": "b\#($0)"}"# }.joined(separator: ",")
            let batch = try await client.call(
                .post, "/db/messages/batch", as: user,
                json: #"{"session_id": "\#(session)", "expected_seq": 2, "messages": [\#(items)]}"#)
            #expect(batch.status == .created)
            #expect((try json(batch)["items"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [2, 3, 4])
            let stale = try await client.call(
                .post, "/db/messages/batch", as: user,
                json: #"{"session_id": "\#(session)", "expected_seq": 2, "messages": [\#(items)]}"#)
            try expectProblem(stale, .conflict)
            #expect(try json(stale)["current_seq"] as? Int == 4)
            #expect(try await messageCount(client, user: user, session: session) == 4)

            // An archived session stays a 409 without current_seq; another user's is a 404.
            #expect(
                try await client.call(.patch, "/db/sessions/\(session)", as: user, json: #"{"status": "archived"}"#).status == .ok)
            let archived = try await store(client, user: user, session: session, expecting: 5)
            try expectProblem(archived, .conflict)
            #expect(try json(archived)["current_seq"] == nil)
            try expectProblem(try await store(client, user: uniqueUser("other"), session: session, expecting: 5), .notFound)
        }
    }

    @Test("bad expected_seq values are 422 naming the field")
    func badValues() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            for bad in ["0", "-1", "1.5", "\"1\"", "null", "2147483648", "99999999999999999999"] {
                let response = try await client.call(
                    .post, "/db/messages/store", as: user,
                    json: #"{"session_id": "\#(session)", "expected_seq": \#(bad), "role": "user", "content": "x"}"#)
                try expectProblem(response, .unprocessableContent, fields: ["expected_seq"])
            }
            #expect(try await messageCount(client, user: user, session: session) == 0)
        }
    }

    @Test("agents racing for one seq: exactly one is stored; in one group, a mismatch fails only its own store")
    func racing() async throws {
        let user = uniqueUser()
        try await withAPI(pool: { $0.acquireTimeout = .seconds(120) }) { client in
            let port = try #require(client.port)
            let contested = try await createSession(client, user: user)
            let others = [try await createSession(client, user: user), try await createSession(client, user: user)]
            // 20 agents want seq 1 of one session, while others store into two more sessions (one
            // optimistically right, one plainly), all at once: the group commit writes them together.
            // (which session, status, current_seq of a 409)
            let outcomes = try await withThrowingTaskGroup(of: (String, HTTPResponse.Status, Int?).self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let (status, body) = try await callOnOwnConnection(
                            port: port, .post, "/db/messages/store", as: user,
                            json: #"{"session_id": "\#(contested)", "expected_seq": 1, "role": "user", "content": "agent \#(index)"}"#)
                        return ("contested", status, Self.currentSeq(body))
                    }
                }
                for index in 0..<10 {
                    group.addTask {
                        let expected = index == 0 ? #""expected_seq": 1, "# : ""
                        let (status, body) = try await callOnOwnConnection(
                            port: port, .post, "/db/messages/store", as: user,
                            json: #"{"session_id": "\#(others[index % 2])", \#(expected)"role": "user", "content": "o\#(index)"}"#)
                        return ("other", status, Self.currentSeq(body))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let contestedOutcomes = outcomes.filter { $0.0 == "contested" }
            #expect(contestedOutcomes.filter { $0.1 == .created }.count == 1)
            #expect(contestedOutcomes.filter { $0.1 == .conflict && $0.2 == 1 }.count == 19)
            let otherConflicts = outcomes.filter { $0.0 == "other" && $0.1 != .created }
            // The one optimistic store into others[0] may lose to a plain store to the same session
            // that was numbered first; nothing else may fail.
            #expect(otherConflicts.count <= 1 && otherConflicts.allSatisfy { $0.1 == .conflict }, "\(otherConflicts)")
            #expect(try await messageCount(client, user: user, session: contested) == 1)
            let stored = try await messageCount(client, user: user, session: others[0])! + messageCount(client, user: user, session: others[1])!
            #expect(stored == 10 - otherConflicts.count)
        }
    }

    @Test("agents appending in turn: every stored message got the seq it expected, and seqs have no gap")
    func inTurn() async throws {
        let user = uniqueUser()
        try await withAPI(pool: { $0.acquireTimeout = .seconds(120) }) { client in
            let port = try #require(client.port)
            let session = try await createSession(client, user: user)
            // Four agents, each retrying with the current_seq it is told, until each stored 5.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for agent in 0..<4 {
                    group.addTask {
                        var next = 1
                        var stored = 0
                        while stored < 5 {
                            let (status, body) = try await callOnOwnConnection(
                                port: port, .post, "/db/messages/store", as: user,
                                json: #"{"session_id": "\#(session)", "expected_seq": \#(next), "role": "user", "content": "agent \#(agent)"}"#)
                            let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
                            if status == .created {
                                #expect(object["seq"] as? Int == next)
                                stored += 1
                                next += 1
                            } else {
                                #expect(status == .conflict)
                                next = try #require(object["current_seq"] as? Int) + 1
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let page = try json(try await client.call(.get, "/db/sessions/\(session)/messages?limit=50", as: user))
            #expect((page["items"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == Array(1...20))
        }
    }

    @Test("with an Idempotency-Key a replay returns the first response, though the seq has moved on")
    func idempotentReplay() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "optimistic-\(UUID())"]
            let body = #"{"session_id": "\#(session)", "expected_seq": 1, "role": "user", "content": "once"}"#
            let first = try await client.call(.post, "/db/messages/store", as: user, json: body, headers: key)
            #expect(first.status == .created)
            let replay = try await client.call(.post, "/db/messages/store", as: user, json: body, headers: key)
            #expect(replay.status == .created)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try json(replay)["id"] as? String == (try json(first)["id"] as? String))
            let fresh = try await client.call(.post, "/db/messages/store", as: user, json: body, headers: [HTTPField.Name("Idempotency-Key")!: "optimistic-\(UUID())"])
            try expectProblem(fresh, .conflict)
            #expect(try json(fresh)["current_seq"] as? Int == 1)
            #expect(try await messageCount(client, user: user, session: session) == 1)
        }
    }
}
