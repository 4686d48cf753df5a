import FoundationEssentials
import JWTKit
import ResearchStore

/// Verifies `Authorization: Bearer` tokens: the signature with the configured key (HS256 with a
/// secret, RS256/ES256 with a PEM public key, or the keys of a JWKS file), `exp` (required, 30 s
/// leeway), `nbf`, and `iss`/`aud` when configured. `sub` is the caller; `roles` may hold `admin`.
public struct TokenVerifier: Sendable {
    let keys: JWTKeyCollection
    /// The `alg` header values accepted (never `none`).
    let algorithms: Set<String>
    let issuer: String?
    let audience: String?

    static let leeway: TimeInterval = 30

    /// Why the configured key cannot be used; start-up stops with this message.
    public struct KeyProblem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Builds the verifier from exactly one key source.
    public static func make(
        secret: String?, publicKeyPEM: String?, jwksJSON: String?, issuer: String?, audience: String?
    ) async throws(KeyProblem) -> TokenVerifier {
        let sources = [secret, publicKeyPEM, jwksJSON].compactMap { $0 }
        guard sources.count == 1 else {
            throw KeyProblem(
                description: sources.isEmpty
                    ? "AUTH_MODE=jwt needs a key: JWT_SECRET (HS256), JWT_PUBLIC_KEY_FILE (RS256/ES256, PEM) or JWT_JWKS_FILE"
                    : "set only one of JWT_SECRET, JWT_PUBLIC_KEY_FILE and JWT_JWKS_FILE")
        }
        let keys = JWTKeyCollection()
        let algorithms: Set<String>
        if let secret {
            guard secret.utf8.count >= 32 else {
                throw KeyProblem(description: "JWT_SECRET is \(secret.utf8.count) bytes; HS256 needs at least 32 (256 bits)")
            }
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            algorithms = ["HS256"]
        } else if let pem = publicKeyPEM {
            if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256)
                algorithms = ["RS256"]
            } else if let ecdsa = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: ecdsa)
                algorithms = ["ES256"]
            } else if pem.contains("BEGIN PUBLIC KEY") || pem.contains("BEGIN RSA PUBLIC KEY") {
                throw KeyProblem(
                    description: "JWT_PUBLIC_KEY_FILE holds a key that is neither RSA of at least 2048 bits (RS256) nor P-256 (ES256)")
            } else {
                throw KeyProblem(description: "JWT_PUBLIC_KEY_FILE is not a PEM public key (-----BEGIN PUBLIC KEY-----)")
            }
        } else {
            do {
                try await keys.add(jwksJSON: jwksJSON!)
            } catch {
                throw KeyProblem(description: "JWT_JWKS_FILE is not a usable JWKS document (RSA or EC keys with kid and alg)")
            }
            algorithms = ["RS256", "ES256"]
        }
        return TokenVerifier(keys: keys, algorithms: algorithms, issuer: issuer, audience: audience)
    }

    /// The caller a token names, or why it is refused.
    func caller(fromToken token: String, now: Date = Date()) async throws(AuthenticationFailure) -> Caller {
        guard let alg = Self.algorithm(of: token) else { throw .invalid("the token is not a JWT") }
        guard algorithms.contains(alg) else { throw .invalid("alg \(alg) is not accepted") }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw .invalid("the signature does not verify or the claims are malformed")
        }
        guard let expiry = claims.exp?.value else { throw .invalid("exp is required") }
        guard now.timeIntervalSince(expiry) <= Self.leeway else { throw .invalid("the token has expired") }
        if let notBefore = claims.nbf?.value, notBefore.timeIntervalSince(now) > Self.leeway {
            throw .invalid("the token is not valid yet (nbf)")
        }
        if let issuer, claims.iss?.value != issuer { throw .invalid("iss is not \(issuer)") }
        if let audience, !(claims.aud?.value.contains(audience) ?? false) { throw .invalid("aud does not include \(audience)") }
        guard let subject = claims.sub?.value, !subject.isEmpty else { throw .invalid("sub is required") }
        guard Caller.isValidUserID(subject) else { throw .invalid("sub must be \(Caller.userIDDescription)") }
        return Caller(
            userID: subject, isAdmin: claims.roles?.contains("admin") ?? false, isWorker: claims.roles?.contains("worker") ?? false)
    }

    /// The `alg` of a compact JWS header, read before anything is verified.
    static func algorithm(of token: String) -> String? {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let data = Data(base64URLEncoded: String(header)),
            let header = try? JSONDecoder().decode(Header.self, from: data)
        else { return nil }
        return header.alg
    }

    /// The one header field read before verification.
    private struct Header: Decodable {
        var alg: String?
    }
}

/// The claims ResearchStore reads; all optional so that a missing one gets its own message.
struct AccessClaims: JWTPayload {
    var sub: SubjectClaim?
    var exp: ExpirationClaim?
    var nbf: NotBeforeClaim?
    var iss: IssuerClaim?
    var aud: AudienceClaim?
    var roles: [String]?

    /// The time claims are checked by `TokenVerifier` (with its leeway), not here.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// A token or identity header that is missing or not acceptable: `401` with `WWW-Authenticate`.
struct AuthenticationFailure: Error {
    var reason: String
    /// False when no credentials were sent at all (the challenge then carries no error).
    var credentialsSent: Bool

    static func invalid(_ reason: String) -> AuthenticationFailure {
        AuthenticationFailure(reason: reason, credentialsSent: true)
    }

    /// The `WWW-Authenticate` value (RFC 6750).
    var challenge: String {
        guard credentialsSent else { return #"Bearer realm="research-store""# }
        let description = reason.replacing("\"", with: "'")
        return #"Bearer realm="research-store", error="invalid_token", error_description="\#(description)""#
    }
}
