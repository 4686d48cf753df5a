import ResearchStore

/// How callers are identified.
public enum AuthMode: Sendable {
    /// Local development: the caller is `X-User-ID` (or `anonymous`), roles from `X-User-Roles`.
    case none
    /// `Authorization: Bearer <JWT>`, verified.
    case jwt(TokenVerifier)
}
