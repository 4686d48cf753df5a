import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Every route that takes a JSON body refuses what is not one, the same way, and stores nothing.
@Suite("Body errors on every JSON route")
struct BodyErrorsTests {
    /// Method, path and body limit of each route with a JSON body (`{id}` filled in per test).
    static let routes: [(HTTPRequest.Method, String, Int)] = [
        (.post, "/db/sessions/create", 1 << 20), (.patch, "/db/sessions/{session}", 1 << 20),
        (.post, "/db/messages/store", 1 << 20), (.post, "/db/messages/batch", 8 << 20),
        (.post, "/db/research/create", 1 << 20), (.patch, "/db/research/{research}", 1 << 20),
        (.post, "/db/analytics/log", 1 << 20), (.post, "/db/analytics/batch", 8 << 20),
    ]

    @Test("not JSON, not an object, or not application/json: 400; over the limit: 413")
    func refusals() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let research = try json(try await client.call(
                .post, "/db/research/create", as: user, json: #"{"session_id": "\#(session)", "question": "q", "workflow_type": "w"}"#))["id"] as! String
            for (method, template, limit) in Self.routes {
                let path = template.replacingOccurrences(of: "{session}", with: session).replacingOccurrences(of: "{research}", with: research)
                try expectProblem(try await client.call(method, path, as: user, json: #"{"title": "#), .badRequest)
                try expectProblem(try await client.call(method, path, as: user, json: #"["not", "an", "object"]"#), .badRequest)
                try expectProblem(
                    try await client.call(method, path, as: user, json: "{}", headers: [.contentType: "text/plain"]), .badRequest)
                let oversized = #"{"pad": ""# + String(repeating: "x", count: limit) + #""}"#
                try expectProblem(try await client.call(method, path, as: user, json: oversized), .contentTooLarge)
            }
            // None of it changed anything.
            let stored = try json(try await client.call(.get, "/db/sessions/\(session)", as: user))
            #expect(stored["message_count"] as? Int == 0)
            #expect(stored["title"] as? String == "t")
            let request = try json(try await client.call(.get, "/db/research/\(research)", as: user))
            #expect(request["status"] as? String == "pending")
            let summary = try json(try await client.call(.get, "/db/analytics/summary", as: user))
            #expect((summary["event_types"] as? [Any])?.isEmpty == true)
        }
    }
}
