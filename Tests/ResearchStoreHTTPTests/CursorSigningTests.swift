import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ResearchStore
import Synchronization
import TestSupport
import Testing

@Suite("Signed cursors")
struct CursorSigningTests {
    /// Cursors as an older, unsigned server wrote them, with a position no date can hold: the
    /// forgery that used to crash the process.
    static let forged: [String: String] = [
        "/db/sessions": "v1|sessions|9000000000000000000|\(UUID().uuidString.lowercased())",
        "/db/research": "v1|research|9000000000000000000|\(UUID().uuidString.lowercased())",
        "/db/admin/audit": "v1|audit|-9000000000000000000||1",
        "/db/domain-sets": "v1|domain-sets|0||a",
    ]

    @Test("forged and unsigned cursors are 400 naming the cursor on every list, and the server stays up")
    func forgedCursors() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            var lists = Self.forged
            lists["/db/sessions/\(session)/messages"] = "v1|messages-asc|9223372036854775807|"
            for (path, payload) in lists {
                let cursor = Data(payload.utf8).base64URLEncodedString()
                let response = try await client.call(.get, "\(path)?cursor=\(cursor)", as: user, admin: true)
                try expectProblem(response, .badRequest, fields: ["cursor"])
                #expect(try await client.call(.get, "/livez", as: user).status == .ok)
            }
        }
    }

    @Test("a cursor with bytes added or changed, or of another list, is 400; the untouched one pages on")
    func tamperedCursors() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            for index in 0..<3 { _ = try await createSession(client, user: user, title: "s\(index)") }
            let first = try json(try await client.call(.get, "/db/sessions?limit=2", as: user))
            let cursor = try #require(first["next_cursor"] as? String)
            let second = try await client.call(.get, "/db/sessions?limit=2&cursor=\(cursor)", as: user)
            #expect(second.status == .ok)
            #expect((try json(second)["items"] as? [Any])?.count == 1)
            var flipped = Array(cursor)
            flipped[flipped.count / 2] = flipped[flipped.count / 2] == "A" ? "B" : "A"
            for bad in [cursor + "AA", cursor + "A", String(flipped), String(cursor.dropLast(2))] {
                try expectProblem(try await client.call(.get, "/db/sessions?cursor=\(bad)", as: user), .badRequest, fields: ["cursor"])
            }
            // A sessions cursor handed to the research list.
            try expectProblem(try await client.call(.get, "/db/research?cursor=\(cursor)", as: user), .badRequest, fields: ["cursor"])
        }
    }

    @Test("replicas that share the key continue each other's pages; a replica with another key refuses them")
    func acrossReplicas() async throws {
        let user = uniqueUser()
        let shared = CursorSigner(secret: Array(String(repeating: "shared-key-", count: 4).utf8))
        let issued = Mutex("")
        try await withAPI(cursors: shared) { client in
            for index in 0..<3 { _ = try await createSession(client, user: user, title: "r\(index)") }
            let cursor = try #require(try json(try await client.call(.get, "/db/sessions?limit=2", as: user))["next_cursor"] as? String)
            issued.withLock { $0 = cursor }
        }
        let cursor = issued.withLock { $0 }
        try await withAPI(cursors: CursorSigner(secret: Array(String(repeating: "shared-key-", count: 4).utf8))) { client in
            let page = try await client.call(.get, "/db/sessions?limit=2&cursor=\(cursor)", as: user)
            #expect(page.status == .ok, "\(String(buffer: page.body))")
            #expect((try json(page)["items"] as? [[String: Any]])?.map { $0["title"] as? String } == ["r0"])
        }
        try await withAPI(cursors: .random()) { client in
            try expectProblem(try await client.call(.get, "/db/sessions?cursor=\(cursor)", as: user), .badRequest, fields: ["cursor"])
        }
    }
}
