import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

/// Stores one message into `session` and returns its id.
func storeMessage(_ client: some TestClientProtocol, user: String, session: String, content: String = "hi") async throws -> String {
    let response = try await client.call(
        .post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)", "role": "user", "content": \#(quoted(content))}"#)
    #expect(response.status == .created)
    return try #require(try json(response)["id"] as? String)
}

/// Creates a research request in `session` and returns its id.
func createResearch(_ client: some TestClientProtocol, user: String, session: String) async throws -> String {
    let response = try await client.call(
        .post, "/db/research/create", as: user,
        json: #"{"session_id": "\#(session)", "question": "why?", "workflow_type": "deep"}"#)
    #expect(response.status == .created)
    return try #require(try json(response)["id"] as? String)
}

@Suite("LLM usage")
struct LLMUsageEndpointTests {
    @Test("a call is recorded with total_tokens derived, cost kept exact, and read back whole")
    func record() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let research = try await createResearch(client, user: user, session: session)
            let response = try await client.call(
                .post, "/db/llm-usage", as: user,
                json: """
                    {"provider": "openai", "model": "gpt-4o", "prompt_tokens": 1200, "completion_tokens": 345,
                     "duration_ms": 812.5, "cost_usd": 0.012340, "session_id": "\(session)", "research_id": "\(research)",
                     "request_id": "req-1"}
                    """)
            #expect(response.status == .created)
            let usage = try json(response)
            let id = try #require(usage["id"] as? String)
            #expect(response.headers[.location] == "/db/llm-usage/\(id)")
            #expect(usage["user_id"] as? String == user)
            #expect(usage["provider"] as? String == "openai")
            #expect(usage["model"] as? String == "gpt-4o")
            #expect(usage["prompt_tokens"] as? Int == 1200)
            #expect(usage["completion_tokens"] as? Int == 345)
            #expect(usage["total_tokens"] as? Int == 1545)
            #expect(usage["duration_ms"] as? Double == 812.5)
            #expect(String(buffer: response.body).contains(#""cost_usd":0.01234,"#))
            #expect(usage["session_id"] as? String == session)
            #expect(usage["research_id"] as? String == research)
            #expect(usage["request_id"] as? String == "req-1")
            #expect(usage["created_at"] as? String != nil)
            let read = try await client.call(.get, "/db/llm-usage/\(id)", as: user)
            #expect(read.status == .ok)
            #expect(String(buffer: read.body) == String(buffer: response.body))
            try expectProblem(try await client.call(.get, "/db/llm-usage/\(id)", as: uniqueUser("other")), .notFound)
            #expect(try await client.call(.get, "/db/llm-usage/\(id)", as: "someone", admin: true).status == .ok)

            let minimal = try json(
                try await client.call(
                    .post, "/db/llm-usage", as: user,
                    json: #"{"provider": "p", "model": "m", "prompt_tokens": 0, "completion_tokens": 0, "duration_ms": 0}"#))
            #expect(minimal["cost_usd"] is NSNull)
            #expect(minimal["session_id"] is NSNull && minimal["research_id"] is NSNull && minimal["request_id"] is NSNull)
            #expect(minimal["user_id"] as? String == user)
        }
    }

    @Test("linked rows belong to the session's owner; another user's or an unknown link is 404")
    func scoping() async throws {
        let owner = uniqueUser("owner")
        let other = uniqueUser("other")
        try await withAPI { client in
            let session = try await createSession(client, user: owner)
            let otherSession = try await createSession(client, user: other)
            let research = try await createResearch(client, user: owner, session: session)
            let base = #""provider": "p", "model": "m", "prompt_tokens": 1, "completion_tokens": 2, "duration_ms": 3"#
            try expectProblem(
                try await client.call(.post, "/db/llm-usage", as: other, json: "{\(base), \"session_id\": \"\(session)\"}"),
                .notFound, fields: ["session_id"])
            try expectProblem(
                try await client.call(.post, "/db/llm-usage", as: other, json: "{\(base), \"research_id\": \"\(research)\"}"),
                .notFound, fields: ["research_id"])
            try expectProblem(
                try await client.call(.post, "/db/llm-usage", as: owner, json: "{\(base), \"session_id\": \"\(UUID())\"}"),
                .notFound, fields: ["session_id"])
            try expectProblem(
                try await client.call(
                    .post, "/db/llm-usage", as: other,
                    json: "{\(base), \"session_id\": \"\(otherSession)\", \"research_id\": \"\(research)\"}"),
                .notFound, fields: ["research_id"])
            let ownSecond = try await createSession(client, user: owner)
            try expectProblem(
                try await client.call(
                    .post, "/db/llm-usage", as: owner, json: "{\(base), \"session_id\": \"\(ownSecond)\", \"research_id\": \"\(research)\"}"),
                .unprocessableContent, fields: ["research_id"])
            // An admin may report a call in anyone's session: the row is the owner's.
            let byAdmin = try json(
                try await client.call(.post, "/db/llm-usage", as: "ops", admin: true, json: "{\(base), \"session_id\": \"\(session)\"}"))
            #expect(byAdmin["user_id"] as? String == owner)
            let figures = try json(try await client.call(.get, "/db/analytics/sessions/\(session)", as: owner))
            #expect((figures["llm_usage"] as? [String: Any])?["calls"] as? Int == 1)
        }
    }

    @Test("every bad field is named; costs that numeric(14,6) would change are refused")
    func validation() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            try expectProblem(
                try await client.call(
                    .post, "/db/llm-usage", as: user,
                    json: #"{"provider": "", "model": 5, "prompt_tokens": -1, "completion_tokens": 2147483648, "duration_ms": -0.5, "cost_usd": "1", "session_id": "x", "request_id": ""}"#),
                .unprocessableContent,
                fields: ["provider", "model", "prompt_tokens", "completion_tokens", "duration_ms", "cost_usd", "session_id", "request_id"])
            try expectProblem(
                try await client.call(.post, "/db/llm-usage", as: user, json: "{}"), .unprocessableContent,
                fields: ["provider", "model", "prompt_tokens", "completion_tokens", "duration_ms"])
            let base = #""provider": "p", "model": "m", "prompt_tokens": 1, "completion_tokens": 2, "duration_ms": 3"#
            for cost in ["0.0000001", "100000000", "-0.01", "1e-7"] {
                try expectProblem(
                    try await client.call(.post, "/db/llm-usage", as: user, json: "{\(base), \"cost_usd\": \(cost)}"),
                    .unprocessableContent, fields: ["cost_usd"])
            }
            for (sent, echoed) in [("0.000001", "0.000001"), ("99999999.999999", "99999999.999999"), ("1.5e-3", "0.0015"), ("7", "7")] {
                let response = try await client.call(.post, "/db/llm-usage", as: user, json: "{\(base), \"cost_usd\": \(sent)}")
                #expect(response.status == .created)
                #expect(String(buffer: response.body).contains("\"cost_usd\":\(echoed),"), "\(sent): \(String(buffer: response.body))")
            }
            try expectProblem(try await client.call(.post, "/db/llm-usage", as: user, json: "[1]"), .badRequest)
            try expectProblem(try await client.call(.get, "/db/llm-usage/not-a-uuid", as: user), .notFound)
        }
    }
}

@Suite("Feedback")
struct FeedbackEndpointTests {
    @Test("a rating of one's own message is 201; a second replaces it with 200, keeping id and created_at")
    func rateAndReplace() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let message = try await storeMessage(client, user: user, session: session)
            let first = try await client.call(
                .post, "/db/feedback", as: user,
                json: #"{"target_type": "message", "target_id": "\#(message)", "rating": 4, "comment": "useful ✓"}"#)
            #expect(first.status == .created)
            let rated = try json(first)
            let id = try #require(rated["id"] as? String)
            #expect(first.headers[.location] == "/db/feedback/\(id)")
            #expect(rated["user_id"] as? String == user)
            #expect(rated["target_type"] as? String == "message")
            #expect(rated["target_id"] as? String == message)
            #expect(rated["rating"] as? Int == 4)
            #expect(rated["comment"] as? String == "useful ✓")
            #expect(rated["created_at"] as? String == rated["updated_at"] as? String)

            let second = try await client.call(
                .post, "/db/feedback", as: user, json: #"{"target_type": "message", "target_id": "\#(message)", "rating": 2}"#)
            #expect(second.status == .ok)
            #expect(second.headers[.location] == nil)
            let replaced = try json(second)
            #expect(replaced["id"] as? String == id)
            #expect(replaced["rating"] as? Int == 2)
            #expect(replaced["comment"] is NSNull)
            #expect(replaced["created_at"] as? String == rated["created_at"] as? String)
            #expect((replaced["updated_at"] as? String ?? "") >= (rated["updated_at"] as? String ?? "~"))
            let read = try json(try await client.call(.get, "/db/feedback/\(id)", as: user))
            #expect(read["rating"] as? Int == 2)
            try expectProblem(try await client.call(.get, "/db/feedback/\(id)", as: uniqueUser("other")), .notFound)

            let count = try await TestDatabase.withConnection { connection in
                try await connection.query("SELECT count(*) FROM feedback WHERE user_id = \(user)")[0].decode(0, as: Int.self)
            }
            #expect(count == 1)
        }
    }

    @Test("sessions and research requests can be rated; another user's or an unknown target is 404, even for an admin")
    func targets() async throws {
        let owner = uniqueUser("owner")
        try await withAPI { client in
            let session = try await createSession(client, user: owner)
            let research = try await createResearch(client, user: owner, session: session)
            let message = try await storeMessage(client, user: owner, session: session)
            for (type, target) in [("session", session), ("research", research)] {
                let response = try await client.call(
                    .post, "/db/feedback", as: owner, json: #"{"target_type": "\#(type)", "target_id": "\#(target)", "rating": 5}"#)
                #expect(response.status == .created, "\(type)")
            }
            for (type, target) in [("session", session), ("research", research), ("message", message), ("message", UUID().uuidString)] {
                for (caller, admin) in [(uniqueUser("other"), false), ("ops", true)] {
                    try expectProblem(
                        try await client.call(
                            .post, "/db/feedback", as: caller, admin: admin,
                            json: #"{"target_type": "\#(type)", "target_id": "\#(target)", "rating": 3}"#),
                        .notFound, fields: ["target_id"])
                }
            }
            // A rating of a message of the right user but named as a session is not found either.
            try expectProblem(
                try await client.call(
                    .post, "/db/feedback", as: owner, json: #"{"target_type": "session", "target_id": "\#(message)", "rating": 3}"#),
                .notFound, fields: ["target_id"])
            // Feedback goes with its target.
            #expect(try await client.call(.delete, "/db/sessions/\(session)", as: owner).status == .noContent)
            let left = try await TestDatabase.withConnection { connection in
                try await connection.query("SELECT count(*) FROM feedback WHERE user_id = \(owner)")[0].decode(0, as: Int.self)
            }
            #expect(left == 0)
        }
    }

    @Test("rating, type and comment length are validated, naming each field")
    func validation() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            try expectProblem(
                try await client.call(
                    .post, "/db/feedback", as: user,
                    json: #"{"target_type": "user", "target_id": "nope", "rating": 6, "comment": \#(quoted(String(repeating: "é", count: 2001)))}"#),
                .unprocessableContent, fields: ["target_type", "target_id", "rating", "comment"])
            try expectProblem(
                try await client.call(.post, "/db/feedback", as: user, json: #"{"rating": 0}"#), .unprocessableContent,
                fields: ["target_type", "target_id", "rating"])
            let session = try await createSession(client, user: user)
            let longest = try await client.call(
                .post, "/db/feedback", as: user,
                json: #"{"target_type": "session", "target_id": "\#(session)", "rating": 1, "comment": \#(quoted(String(repeating: "é", count: 2000)))}"#)
            #expect(longest.status == .created)
        }
    }
}
