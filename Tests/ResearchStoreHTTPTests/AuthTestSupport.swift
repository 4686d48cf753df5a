import Foundation
import JWTKit
import ResearchStore
import ResearchStoreHTTP

/// The claims tests put in tokens.
struct TestClaims: JWTPayload {
    var sub: SubjectClaim?
    var exp: ExpirationClaim?
    var nbf: NotBeforeClaim?
    var iss: IssuerClaim?
    var aud: AudienceClaim?
    var roles: [String]?

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    init(
        sub: String?, expiresIn: TimeInterval? = 300, notBeforeIn: TimeInterval? = nil, iss: String? = nil, aud: String? = nil,
        roles: [String]? = nil
    ) {
        self.sub = sub.map { SubjectClaim(value: $0) }
        self.exp = expiresIn.map { ExpirationClaim(value: Date().addingTimeInterval($0)) }
        self.nbf = notBeforeIn.map { NotBeforeClaim(value: Date().addingTimeInterval($0)) }
        self.iss = iss.map { IssuerClaim(value: $0) }
        self.aud = aud.map { AudienceClaim(value: [$0]) }
        self.roles = roles
    }
}

/// Signs HS256 test tokens with a secret, and makes the server settings that verify them.
struct TokenMinter {
    static let secret = "test-secret-that-is-long-enough-for-hs256"
    let keys: JWTKeyCollection

    init(secret: String = TokenMinter.secret) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    func token(_ claims: TestClaims) async throws -> String {
        try await keys.sign(claims)
    }

    func token(for user: String, admin: Bool = false) async throws -> String {
        try await token(TestClaims(sub: user, roles: admin ? ["admin"] : []))
    }

    /// An unsigned token (`alg: none`) naming `user`.
    static func unsigned(for user: String, admin: Bool = false) -> String {
        func encode(_ text: String) -> String { Data(text.utf8).base64URLEncodedString() }
        let exp = Int(Date().timeIntervalSince1970) + 300
        let roles = admin ? #"["admin"]"# : "[]"
        return encode(#"{"alg":"none","typ":"JWT"}"#) + "." + encode(#"{"sub":"\#(user)","exp":\#(exp),"roles":\#(roles)}"#) + "."
    }

    /// Server settings in jwt mode with this secret (and optional iss/aud checks).
    static func settings(issuer: String? = nil, audience: String? = nil) async throws -> HTTPSettings {
        var settings = HTTPSettings(port: 0)
        settings.auth = .jwt(
            try await TokenVerifier.make(secret: secret, publicKeyPEM: nil, jwksJSON: nil, issuer: issuer, audience: audience))
        return settings
    }
}
