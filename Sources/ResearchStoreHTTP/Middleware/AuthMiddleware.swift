import FoundationEssentials
import Hummingbird
import HTTPTypes
import Postgres
import ResearchStore

/// Identifies the caller of every route except the public ones (probes, metrics, the API
/// document) and puts them on the context; refuses with `401` when it cannot.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let mode: AuthMode

    /// Routes that need no credentials in any mode. The dashboard's shell and assets hold no data:
    /// every figure the page shows comes from the admin routes, called with the operator's token.
    static let publicPaths: Set<String> = [
        "/livez", "/readyz", "/db/health", "/metrics", "/openapi.json", "/openapi.yaml", "/docs",
        "/dashboard", "/dashboard/app.js", "/dashboard/app.css",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard !Self.publicPaths.contains(request.uri.path) else { return try await next(request, context) }
        var context = context
        let caller = try await authenticate(request)
        context.caller = caller
        context.logger[metadataKey: "user.id"] = .string(caller.userID)
        return try await next(request, context)
    }

    func authenticate(_ request: Request) async throws -> Caller {
        switch mode {
        case .none:
            let userID = request.headers[.userID] ?? "anonymous"
            guard Caller.isValidUserID(userID) else {
                throw ServiceError(.unauthorized, "X-User-ID must be \(Caller.userIDDescription)")
            }
            let roles = (request.headers[.userRoles] ?? "").split(separator: ",").map { String($0.trimmingWhitespace()) }
            return Caller(userID: userID, isAdmin: roles.contains("admin"), isWorker: roles.contains("worker"))
        case .jwt(let verifier):
            guard let authorization = request.headers[.authorization] else {
                throw AuthenticationFailure(reason: "a Bearer token is required", credentialsSent: false)
            }
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw AuthenticationFailure.invalid("the Authorization header must be Bearer <token>")
            }
            return try await verifier.caller(fromToken: String(parts[1].trimmingWhitespace()))
        }
    }
}
