import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@Suite("End to end over TLS")
struct TLSEndToEndTests {
    @Test("the whole service works on the TLS cluster with sslmode=verify-full and the cluster's CA")
    func overTLS() async throws {
        let url = try TestDatabase.tlsURL()
        #expect(url.contains("sslmode=verify-full") && url.contains("sslrootcert="))
        let user = uniqueUser("tls")
        try await withAPI(databaseURL: url) { client in
            let session = try await createSession(client, user: user)
            _ = try await storeMessage(client, user: user, session: session, content: "over TLS")
            let context = try json(try await client.call(.get, "/db/context/\(session)", as: user))
            #expect((context["messages"] as? [[String: Any]])?.first?["content"] as? String == "over TLS")
            let health = try json(try await client.call(.get, "/db/health", as: user))
            #expect((health["database"] as? [String: Any])?["reachable"] as? Bool == true)
            let export = try await client.call(.get, "/db/users/\(user)/export", as: user)
            #expect(export.status == .ok)
            #expect(try await client.call(.delete, "/db/users/\(user)", as: user).status == .noContent)
        }
    }
}
