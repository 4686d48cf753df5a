import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import ResearchStoreHTTP
import TestSupport
import Testing

extension TestClientProtocol {
    /// Sends a request with `Authorization: Bearer <token>` (none when `token` is nil).
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String?, json body: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

/// Checks a `401` with its `WWW-Authenticate` challenge.
func expectUnauthorized(_ response: TestResponse, invalidToken: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try expectProblem(response, .unauthorized, sourceLocation: sourceLocation)
    let challenge = response.headers[.wwwAuthenticate] ?? ""
    #expect(challenge.hasPrefix(#"Bearer realm="research-store""#), sourceLocation: sourceLocation)
    #expect(challenge.contains(#"error="invalid_token""#) == invalidToken, "\(challenge)", sourceLocation: sourceLocation)
}

@Suite("JWT identity")
struct AuthEndpointTests {
    @Test("a valid HS256 token names the caller; roles: [admin] makes an admin; X-User-ID is ignored in jwt mode")
    func validToken() async throws {
        let minter = await TokenMinter()
        let user = uniqueUser()
        try await withAPI(settings: try await TokenMinter.settings()) { client in
            let token = try await minter.token(for: user)
            let created = try await client.call(.post, "/db/sessions/create", token: token, json: #"{"title": "mine"}"#)
            #expect(created.status == .created)
            #expect(try json(created)["user_id"] as? String == user)
            try expectProblem(try await client.call(.get, "/db/admin/audit", token: token), .forbidden)
            #expect(try await client.call(.get, "/db/admin/audit", token: try await minter.token(for: "ops", admin: true)).status == .ok)
            // roles: [worker] may claim research requests (of a type nobody uses: none pending).
            let claim = #"{"workflow_types": ["jwt-test.none"]}"#
            try expectProblem(try await client.call(.post, "/db/research/claim", token: token, json: claim), .forbidden)
            let worker = try await minter.token(TestClaims(sub: "runner", roles: ["worker"]))
            #expect(try await client.call(.post, "/db/research/claim", token: worker, json: claim).status == .noContent)
            let spoofed = try await client.call(.get, "/db/sessions", as: user)
            try expectUnauthorized(spoofed, invalidToken: false)
            // Public routes need no token.
            for path in ["/livez", "/readyz", "/db/health", "/metrics", "/openapi.json", "/openapi.yaml", "/docs"] {
                #expect(try await client.call(.get, path, token: nil).status == .ok, "\(path)")
            }
        }
    }

    @Test("exp is required with 30 s of leeway, nbf is honoured, sub is required and must be a user id")
    func timeClaims() async throws {
        let minter = await TokenMinter()
        try await withAPI(settings: try await TokenMinter.settings()) { client in
            let user = uniqueUser()
            let cases: [(TestClaims, Bool, String)] = [
                (TestClaims(sub: user, expiresIn: -20), true, "expired 20 s ago: within leeway"),
                (TestClaims(sub: user, expiresIn: -60), false, "expired a minute ago"),
                (TestClaims(sub: user, expiresIn: nil), false, "no exp"),
                (TestClaims(sub: user, notBeforeIn: 20), true, "nbf 20 s ahead: within leeway"),
                (TestClaims(sub: user, notBeforeIn: 120), false, "nbf two minutes ahead"),
                (TestClaims(sub: nil), false, "no sub"),
                (TestClaims(sub: "has space"), false, "sub outside the user id form"),
            ]
            for (claims, accepted, label) in cases {
                let response = try await client.call(.get, "/db/sessions", token: try await minter.token(claims))
                if accepted {
                    #expect(response.status == .ok, "\(label)")
                } else {
                    try expectUnauthorized(response)
                }
            }
        }
    }

    @Test("alg none, a bad signature, garbage and a wrong scheme are 401; no token is 401 with a bare challenge")
    func badTokens() async throws {
        let minter = await TokenMinter()
        let forger = await TokenMinter(secret: "another-secret-that-is-long-enough-too")
        try await withAPI(settings: try await TokenMinter.settings()) { client in
            let user = uniqueUser()
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: TokenMinter.unsigned(for: user, admin: true)))
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: try await forger.token(for: user)))
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: "not.a.jwt"))
            let good = try await minter.token(for: user)
            let tampered = good.split(separator: ".").enumerated().map { $0 == 1 ? Substring(TokenMinter.unsigned(for: "admin").split(separator: ".")[1]) : $1 }
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: tampered.joined(separator: ".")))
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: nil), invalidToken: false)
            let basic = try await client.execute(uri: "/db/sessions", method: .get, headers: [.authorization: "Basic dXNlcjpwdw=="])
            try expectUnauthorized(basic)
        }
    }

    @Test("JWT_ISSUER and JWT_AUDIENCE switch on their checks")
    func issuerAndAudience() async throws {
        let minter = await TokenMinter()
        let user = uniqueUser()
        try await withAPI(settings: try await TokenMinter.settings(issuer: "https://id.example", audience: "research-store")) { client in
            let right = try await minter.token(TestClaims(sub: user, iss: "https://id.example", aud: "research-store"))
            #expect(try await client.call(.get, "/db/sessions", token: right).status == .ok)
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: try await minter.token(TestClaims(sub: user, aud: "research-store"))))
            try expectUnauthorized(
                try await client.call(.get, "/db/sessions", token: try await minter.token(TestClaims(sub: user, iss: "https://id.example", aud: "other"))))
        }
    }

    @Test("RS256 and ES256 public keys (PEM) and a JWKS file verify their own tokens and refuse other algorithms")
    func publicKeys() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await runOpenSSL(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", directory + "/rsa.pem"])
        try await runOpenSSL(["pkey", "-in", directory + "/rsa.pem", "-pubout", "-out", directory + "/rsa.pub"])
        let rsaPrivate = try Insecure.RSA.PrivateKey(pem: try String(contentsOfFile: directory + "/rsa.pem", encoding: .utf8))
        let rsaSigner = JWTKeyCollection()
        await rsaSigner.add(rsa: rsaPrivate, digestAlgorithm: .sha256)
        let ecPrivate = ES256PrivateKey()
        let ecSigner = JWTKeyCollection()
        await ecSigner.add(ecdsa: ecPrivate, kid: "ec-1")
        let hmac = await TokenMinter()
        let user = uniqueUser()

        var rsaSettings = HTTPSettings(port: 0)
        rsaSettings.auth = .jwt(
            try await TokenVerifier.make(
                secret: nil, publicKeyPEM: try String(contentsOfFile: directory + "/rsa.pub", encoding: .utf8), jwksJSON: nil,
                issuer: nil, audience: nil))
        try await withAPI(settings: rsaSettings) { client in
            #expect(try await client.call(.get, "/db/sessions", token: try await rsaSigner.sign(TestClaims(sub: user))).status == .ok)
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: try await hmac.token(for: user)))
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: try await ecSigner.sign(TestClaims(sub: user))))
        }

        var ecSettings = HTTPSettings(port: 0)
        ecSettings.auth = .jwt(
            try await TokenVerifier.make(
                secret: nil, publicKeyPEM: ecPrivate.publicKey.pemRepresentation, jwksJSON: nil, issuer: nil, audience: nil))
        try await withAPI(settings: ecSettings) { client in
            #expect(try await client.call(.get, "/db/sessions", token: try await ecSigner.sign(TestClaims(sub: user))).status == .ok)
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: try await rsaSigner.sign(TestClaims(sub: user))))
        }

        let parameters = try #require(ecPrivate.publicKey.parameters)
        let jwks = #"{"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "ec-1", "x": "\#(parameters.x)", "y": "\#(parameters.y)"}]}"#
        var jwksSettings = HTTPSettings(port: 0)
        jwksSettings.auth = .jwt(try await TokenVerifier.make(secret: nil, publicKeyPEM: nil, jwksJSON: jwks, issuer: nil, audience: nil))
        try await withAPI(settings: jwksSettings) { client in
            #expect(try await client.call(.get, "/db/sessions", token: try await ecSigner.sign(TestClaims(sub: user), kid: "ec-1")).status == .ok)
            try expectUnauthorized(try await client.call(.get, "/db/sessions", token: try await hmac.token(for: user)))
        }
    }

    @Test("key problems are refused at start-up with a clear message")
    func keyProblems() async throws {
        func problem(secret: String? = nil, pem: String? = nil, jwks: String? = nil) async -> String? {
            do {
                _ = try await TokenVerifier.make(secret: secret, publicKeyPEM: pem, jwksJSON: jwks, issuer: nil, audience: nil)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(await problem()?.contains("JWT_SECRET") == true)
        #expect(await problem(secret: String(repeating: "x", count: 31))?.contains("at least 32") == true)
        #expect(await problem(secret: String(repeating: "x", count: 32)) == nil)
        #expect(await problem(secret: String(repeating: "x", count: 32), jwks: "{}")?.contains("only one") == true)
        #expect(await problem(pem: "hello")?.contains("PEM") == true)
        #expect(await problem(jwks: "[1]")?.contains("JWKS") == true)
    }
}

func runOpenSSL(_ arguments: [String]) async throws {
    let status = try await onOwnThread { try runOpenSSLBlocking(arguments) }
    #expect(status == 0)
}

func runOpenSSLBlocking(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}
