import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Walks every operation of the served OpenAPI document as seven callers — the owner of the
/// resources, another user, an admin, no token, a bad signature, an expired token and
/// `alg: none` — and checks each status, and that no byte of the owner's data reaches anyone
/// but the owner and admins. An operation missing from `expectations` fails the test, so a new
/// route cannot ship without saying who may use it.
@Suite("Access to every route")
struct RouteAccessTests {
    enum Identity: String, CaseIterable {
        case owner, other, admin, noToken, badSignature, expired, algNone
        var isAuthenticated: Bool { [.owner, .other, .admin].contains(self) }
    }

    /// The resources of one owner, made fresh for each call so destructive routes do not interfere.
    struct World: Sendable {
        var owner: String
        var marker: String
        var session: String
        var message: String
        var research: String
        var feedback: String
        var usage: String
        var domainSet: String
        var cacheKey: String
        /// Everything the owner has that others must never see.
        var secrets: [String] { [owner, marker, session, message, research, feedback, usage] }
    }

    /// For one operation: the request to send, and the status for the owner, another user and an admin.
    struct Expectation: Sendable {
        var path: @Sendable (World) -> String
        var body: (@Sendable (World) -> String)? = nil
        var owner: Int
        var other: Int
        var admin: Int
    }

    static let publicOperations: Set<String> = [
        "GET /livez", "GET /readyz", "GET /db/health", "GET /metrics", "GET /openapi.json", "GET /openapi.yaml", "GET /docs",
        "GET /dashboard", "GET /dashboard/app.js", "GET /dashboard/app.css",
    ]

    static let streamOperation = "GET /db/sessions/{id}/stream"

    static let expectations: [String: Expectation] = [
        "POST /db/sessions/create": .init(path: { _ in "/db/sessions/create" }, body: { _ in #"{"title": "new"}"# }, owner: 201, other: 201, admin: 201),
        "GET /db/sessions": .init(path: { _ in "/db/sessions" }, owner: 200, other: 200, admin: 200),
        "GET /db/sessions/{id}": .init(path: { "/db/sessions/\($0.session)" }, owner: 200, other: 404, admin: 200),
        "PATCH /db/sessions/{id}": .init(path: { "/db/sessions/\($0.session)" }, body: { _ in #"{"title": "renamed"}"# }, owner: 200, other: 404, admin: 200),
        "DELETE /db/sessions/{id}": .init(path: { "/db/sessions/\($0.session)" }, owner: 204, other: 404, admin: 204),
        "POST /db/sessions/{id}/fork": .init(
            path: { "/db/sessions/\($0.session)/fork" }, body: { _ in #"{"title": "forked"}"# }, owner: 201, other: 404, admin: 201),
        "GET /db/sessions/{id}/messages": .init(path: { "/db/sessions/\($0.session)/messages" }, owner: 200, other: 404, admin: 200),
        "GET /db/sessions/{id}/stream": .init(path: { "/db/sessions/\($0.session)/stream" }, owner: 200, other: 404, admin: 200),
        "POST /db/messages/store": .init(
            path: { _ in "/db/messages/store" }, body: { #"{"session_id": "\#($0.session)", "role": "user", "content": "more"}"# }, owner: 201, other: 404,
            admin: 201),
        "POST /db/messages/batch": .init(
            path: { _ in "/db/messages/batch" }, body: { #"{"session_id": "\#($0.session)", "messages": [{"role": "user", "content": "x"}]}"# },
            owner: 201, other: 404, admin: 201),
        "GET /db/messages/{id}": .init(path: { "/db/messages/\($0.message)" }, owner: 200, other: 404, admin: 200),
        "GET /db/context/{session_id}": .init(path: { "/db/context/\($0.session)" }, owner: 200, other: 404, admin: 200),
        "POST /db/research/create": .init(
            path: { _ in "/db/research/create" }, body: { #"{"session_id": "\#($0.session)", "question": "q", "workflow_type": "w"}"# }, owner: 201,
            other: 404, admin: 201),
        "GET /db/research": .init(path: { _ in "/db/research" }, owner: 200, other: 200, admin: 200),
        "GET /db/research/{id}": .init(path: { "/db/research/\($0.research)" }, owner: 200, other: 404, admin: 200),
        // A workflow type nobody uses: the admin's claim must not take another test's request.
        "POST /db/research/claim": .init(
            path: { _ in "/db/research/claim" }, body: { _ in #"{"workflow_types": ["route-access.none"]}"# }, owner: 403, other: 403,
            admin: 204),
        "POST /db/research/{id}/heartbeat": .init(
            path: { "/db/research/\($0.research)/heartbeat" }, body: { _ in "{}" }, owner: 403, other: 403, admin: 409),
        "PATCH /db/research/{id}": .init(path: { "/db/research/\($0.research)" }, body: { _ in #"{"status": "running"}"# }, owner: 200, other: 404, admin: 200),
        "POST /db/analytics/log": .init(
            path: { _ in "/db/analytics/log" }, body: { #"{"event_type": "view", "session_id": "\#($0.session)"}"# }, owner: 202, other: 404, admin: 202),
        "POST /db/analytics/batch": .init(
            path: { _ in "/db/analytics/batch" }, body: { #"{"events": [{"event_type": "view", "session_id": "\#($0.session)"}]}"# }, owner: 202,
            other: 404, admin: 202),
        "GET /db/analytics/summary": .init(path: { _ in "/db/analytics/summary" }, owner: 200, other: 200, admin: 200),
        "GET /db/analytics/sessions/{id}": .init(path: { "/db/analytics/sessions/\($0.session)" }, owner: 200, other: 404, admin: 200),
        "POST /db/llm-usage": .init(
            path: { _ in "/db/llm-usage" },
            body: { #"{"provider": "p", "model": "m", "prompt_tokens": 1, "completion_tokens": 1, "duration_ms": 1, "session_id": "\#($0.session)"}"# },
            owner: 201, other: 404, admin: 201),
        "GET /db/llm-usage/{id}": .init(path: { "/db/llm-usage/\($0.usage)" }, owner: 200, other: 404, admin: 200),
        "POST /db/feedback": .init(
            path: { _ in "/db/feedback" }, body: { #"{"target_type": "session", "target_id": "\#($0.session)", "rating": 2}"# }, owner: 200, other: 404,
            admin: 404),
        "GET /db/feedback/{id}": .init(path: { "/db/feedback/\($0.feedback)" }, owner: 200, other: 404, admin: 200),
        "GET /db/admin/stats/feedback": .init(path: { _ in "/db/admin/stats/feedback" }, owner: 403, other: 403, admin: 200),
        "GET /db/admin/stats/telemetry": .init(path: { _ in "/db/admin/stats/telemetry" }, owner: 403, other: 403, admin: 200),
        "GET /db/admin/stats/llm": .init(path: { _ in "/db/admin/stats/llm" }, owner: 403, other: 403, admin: 200),
        "GET /db/admin/stats/activity": .init(path: { _ in "/db/admin/stats/activity" }, owner: 403, other: 403, admin: 200),
        "GET /db/admin/audit": .init(path: { _ in "/db/admin/audit" }, owner: 403, other: 403, admin: 200),
        "POST /db/domain-sets": .init(
            path: { _ in "/db/domain-sets" }, body: { #"{"name": "\#($0.domainSet)-new", "domains": ["a.org"]}"# }, owner: 403, other: 403, admin: 201),
        "GET /db/domain-sets": .init(path: { _ in "/db/domain-sets" }, owner: 200, other: 200, admin: 200),
        "GET /db/domain-sets/{name}": .init(path: { "/db/domain-sets/\($0.domainSet)" }, owner: 200, other: 200, admin: 200),
        "PUT /db/domain-sets/{name}": .init(
            path: { "/db/domain-sets/\($0.domainSet)" }, body: { _ in #"{"domains": ["b.org"]}"# }, owner: 403, other: 403, admin: 200),
        "DELETE /db/domain-sets/{name}": .init(path: { "/db/domain-sets/\($0.domainSet)" }, owner: 403, other: 403, admin: 204),
        // The cache is shared by the whole deployment (results are shareable): everyone may use it.
        "PUT /db/cache/{key}": .init(
            path: { "/db/cache/\($0.cacheKey)" }, body: { _ in #"{"value": {"shared": true}, "ttl_seconds": 60}"# }, owner: 200, other: 200, admin: 200),
        "GET /db/cache/{key}": .init(path: { "/db/cache/\($0.cacheKey)" }, owner: 200, other: 200, admin: 200),
        "DELETE /db/cache/{key}": .init(path: { "/db/cache/\($0.cacheKey)" }, owner: 204, other: 204, admin: 204),
        // Counting stores nothing and reads no one's data: any caller.
        "POST /db/tokens/count": .init(
            path: { _ in "/db/tokens/count" }, body: { _ in #"{"encoding": "o200k_base", "text": "tokens"}"# }, owner: 200, other: 200,
            admin: 200),
        "GET /db/users/{id}": .init(path: { "/db/users/\($0.owner)" }, owner: 200, other: 404, admin: 200),
        "GET /db/users/{id}/export": .init(path: { "/db/users/\($0.owner)/export" }, owner: 200, other: 404, admin: 200),
        "DELETE /db/users/{id}": .init(path: { "/db/users/\($0.owner)" }, owner: 204, other: 404, admin: 204),
    ]

    @Test("every route, as owner, another user, admin, no token, bad signature, expired token and alg none")
    func everyRoute() async throws {
        let minter = await TokenMinter()
        let forger = await TokenMinter(secret: "a-different-secret-of-the-same-length!!")
        try await withAPI(settings: try await TokenMinter.settings()) { client in
            let document = try json(try await client.call(.get, "/openapi.json", token: nil))
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let operations = paths.flatMap { path, methods in
                methods.keys.filter { ["get", "post", "put", "patch", "delete"].contains($0) }.map { "\($0.uppercased()) \(path)" }
            }.sorted()
            let covered = Set(Self.expectations.keys).union(Self.publicOperations)
            #expect(Set(operations).subtracting(covered).sorted() == [], "routes without an access expectation")
            #expect(covered.subtracting(operations).sorted() == [], "expectations for routes that are not documented")

            let other = uniqueUser("other")
            let admin = uniqueUser("admin")
            for operation in operations {
                let parts = operation.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                for identity in Identity.allCases {
                    let world = try await makeWorld(client, minter: minter)
                    let token: String?
                    switch identity {
                    case .owner: token = try await minter.token(for: world.owner)
                    case .other: token = try await minter.token(for: other)
                    case .admin: token = try await minter.token(for: admin, admin: true)
                    case .noToken: token = nil
                    case .badSignature: token = try await forger.token(for: world.owner, admin: true)
                    case .expired: token = try await minter.token(TestClaims(sub: world.owner, expiresIn: -3600, roles: ["admin"]))
                    case .algNone: token = TokenMinter.unsigned(for: world.owner, admin: true)
                    }
                    let label = "\(operation) as \(identity.rawValue)"
                    if Self.publicOperations.contains(operation) {
                        let response = try await client.call(method, String(parts[1]), token: token)
                        #expect(response.status == .ok, "\(label)")
                        continue
                    }
                    let expectation = try #require(Self.expectations[operation])
                    if operation == Self.streamOperation, identity == .owner || identity == .admin, let token {
                        // An event stream never ends: read its status line, then hang up.
                        let reader = try EventStreamReader(
                            port: try #require(client.port), path: expectation.path(world), user: "-",
                            headers: ["Authorization": "Bearer \(token)"])
                        #expect(await reader.status() == 200, "\(label)")
                        continue
                    }
                    let response = try await client.call(method, expectation.path(world), token: token, json: expectation.body?(world))
                    let expected: Int
                    switch identity {
                    case .owner: expected = expectation.owner
                    case .other: expected = expectation.other
                    case .admin: expected = expectation.admin
                    default: expected = 401
                    }
                    #expect(Int(response.status.code) == expected, "\(label): \(String(buffer: response.body).prefix(300))")
                    if expected == 401 { #expect(response.headers[.wwwAuthenticate] != nil, "\(label)") }
                    if identity != .owner && identity != .admin {
                        let body = String(buffer: response.body)
                        for secret in world.secrets where body.contains(secret) {
                            Issue.record("\(label) leaked \(secret): \(body.prefix(300))")
                        }
                    }
                }
            }
        }
    }

    /// One owner with a session, a message, a research request, a rating, an LLM usage row, a
    /// domain set (made by an admin) and a cache entry; the content carries a unique marker.
    func makeWorld(_ client: some TestClientProtocol, minter: TokenMinter) async throws -> World {
        let owner = uniqueUser("owner")
        let marker = "secret-\(UUID().uuidString)"
        let token = try await minter.token(for: owner)
        func post(_ path: String, _ body: String) async throws -> String {
            let response = try await client.call(.post, path, token: token, json: body)
            #expect(response.status.code < 300, "\(path): \(String(buffer: response.body))")
            return try json(response)["id"] as? String ?? ""
        }
        let session = try await post("/db/sessions/create", #"{"title": "\#(marker)", "metadata": {"m": "\#(marker)"}}"#)
        let message = try await post("/db/messages/store", #"{"session_id": "\#(session)", "role": "user", "content": "\#(marker)"}"#)
        let research = try await post("/db/research/create", #"{"session_id": "\#(session)", "question": "\#(marker)", "workflow_type": "w"}"#)
        let feedback = try await post("/db/feedback", #"{"target_type": "session", "target_id": "\#(session)", "rating": 5, "comment": "\#(marker)"}"#)
        let usage = try await post(
            "/db/llm-usage", #"{"provider": "p", "model": "m", "prompt_tokens": 1, "completion_tokens": 1, "duration_ms": 1, "request_id": "\#(marker)"}"#)
        let domainSet = "walk-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await client.call(
            .post, "/db/domain-sets", token: try await minter.token(for: "walk-admin", admin: true), json: #"{"name": "\#(domainSet)", "domains": ["a.org"]}"#)
        #expect(created.status == .created)
        let cacheKey = "walk/\(UUID().uuidString.prefix(8).lowercased())"
        #expect(try await client.call(.put, "/db/cache/\(cacheKey)", token: token, json: #"{"value": {"shared": true}, "ttl_seconds": 60}"#).status == .ok)
        return World(
            owner: owner, marker: marker, session: session, message: message, research: research, feedback: feedback, usage: usage,
            domainSet: domainSet, cacheKey: cacheKey)
    }
}
