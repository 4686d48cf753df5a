import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ResearchStoreHTTP
import TestSupport
import Testing

@Suite("Abuse limits")
struct LimitsEndpointTests {
    @Test("rate limits are per caller: a token bucket, 429 with Retry-After and RateLimit-* headers; probes are exempt")
    func rateLimit() async throws {
        var settings = HTTPSettings(port: 0)
        settings.rateLimit = (rate: 0.01, burst: 3)  // one token per 100 s: no refill during the test
        let user = uniqueUser()
        try await withAPI(settings: settings) { client in
            for remaining in [2, 1, 0] {
                let response = try await client.call(.get, "/db/sessions", as: user)
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
                #expect(response.headers[HTTPField.Name("RateLimit-Remaining")!] == String(remaining))
            }
            let limited = try await client.call(.get, "/db/sessions", as: user)
            try expectProblem(limited, .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(limited.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
            #expect(Int(limited.headers[HTTPField.Name("RateLimit-Reset")!] ?? "") ?? 0 > 0)
            let other = uniqueUser("other")
            #expect(try await client.call(.get, "/db/sessions", as: other).status == .ok)
            let notFound = try await client.call(.get, "/db/sessions/\(UUID())", as: other)
            try expectProblem(notFound, .notFound)
            #expect(notFound.headers[HTTPField.Name("RateLimit-Remaining")!] == "1")
            #expect(try await client.call(.get, "/livez", as: user).status == .ok)
        }
    }

    @Test("over the in-flight limit a request is answered 503 at once; probes still answer")
    func concurrencyLimit() async throws {
        var settings = HTTPSettings(port: 0)
        settings.maximumConcurrentRequests = 2
        // Longer than the wait below: the stalled requests hold their slots for all of it, however
        // late a loaded machine gets round to them.
        settings.bodyReadTimeout = .seconds(180)
        try await withAPI(settings: settings) { client in
            let port = try #require(client.port)
            // Requests whose bodies never arrive hold the slots (four, so that any two suffice).
            let stalled = try (0..<4).map { _ in try RawConnection(port: port) }
            for connection in stalled {
                connection.send("POST /db/sessions/create HTTP/1.1\r\nHost: x\r\nX-User-ID: u\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            }
            var refused: TestResponse?
            _ = try await waitUntil(guard: .seconds(120)) {
                let response = try await client.call(.get, "/db/sessions", as: "u")
                if response.status == .serviceUnavailable { refused = response }
                return refused != nil
            }
            let response = try #require(refused, "never refused")
            try expectProblem(response, .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "1")
            #expect(try await client.call(.get, "/livez", as: "u").status == .ok)
            withExtendedLifetime(stalled) {}
        }
    }

    @Test("a URL over the limit is 414; oversized headers are refused without reaching a handler")
    func sizeLimits() async throws {
        var settings = HTTPSettings(port: 0)
        settings.maximumURLBytes = 1024
        settings.maximumHeaderBytes = 4096
        try await withAPI(settings: settings) { client in
            try expectProblem(try await client.call(.get, "/db/sessions?x=" + String(repeating: "a", count: 1100), as: "u"), .uriTooLong)
            #expect(try await client.call(.get, "/db/sessions?x=" + String(repeating: "a", count: 900), as: "u").status == .ok)
            let connection = try RawConnection(port: try #require(client.port))
            connection.send("GET /db/sessions HTTP/1.1\r\nHost: x\r\nX-User-ID: u\r\nX-Big: \(String(repeating: "b", count: 8000))\r\n\r\n")
            let answer = await connection.receive(timeout: 60)
            #expect(!answer.text.hasPrefix("HTTP/1.1 200"), "\(answer.text.prefix(100))")
            #expect(answer.closed || answer.text.hasPrefix("HTTP/1.1 4"), "\(answer.text.prefix(100))")
        }
    }

    @Test("slow clients cannot hold a connection: a trickling request head is closed, a stalled body is 408")
    func slowClients() async throws {
        var headSettings = HTTPSettings(port: 0)
        headSettings.idleTimeout = .seconds(1)
        try await withAPI(settings: headSettings) { client in
            let head = try RawConnection(port: try #require(client.port))
            head.send("GET /db/sessions HTTP/1.1\r\nHost: x\r\n")
            let headAnswer = await head.receive(timeout: 60)
            #expect(headAnswer.closed, "the connection was still open: \(headAnswer.text.prefix(100))")
        }
        var bodySettings = HTTPSettings(port: 0)
        bodySettings.bodyReadTimeout = .seconds(1)
        try await withAPI(settings: bodySettings) { client in
            let body = try RawConnection(port: try #require(client.port))
            body.send("POST /db/sessions/create HTTP/1.1\r\nHost: x\r\nX-User-ID: u\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"ti")
            let bodyAnswer = await body.receive(timeout: 60)
            #expect(bodyAnswer.text.hasPrefix("HTTP/1.1 408"), "\(bodyAnswer.text.prefix(200))")
            #expect(bodyAnswer.text.contains("application/problem+json"))
        }
    }
}
