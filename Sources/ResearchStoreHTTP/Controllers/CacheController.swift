import Hummingbird
import ResearchStore

/// `/db/cache/{key}`: keys may hold `/`, so the route captures the rest of the path.
struct CacheController {
    let cache: CacheService

    func register(with router: Router<AppRequestContext>) {
        router.put("/db/cache/**", use: put)
        router.get("/db/cache/**", use: get)
        router.delete("/db/cache/**", use: delete)
    }

    /// The key exactly as it appears in the path after `/db/cache/`.
    private func key(_ context: AppRequestContext) -> String {
        context.parameters.get(String(Parameters.recursiveCaptureKey)).map { String($0) } ?? ""
    }

    @Sendable func put(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let caller = try context.requireCaller()
        let body = try await JSONRequest.object(request, limit: BodyLimits.cache)
        let (key, expiresAt) = try await cache.put(caller: caller, key: key(context), body: body)
        return JSONResponse(body: .object([("key", .string(key)), ("expires_at", .timestamp(expiresAt))]))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let entry = try await cache.get(key: key(context))
        return JSONResponse(body: .object([("value", entry.value), ("expires_at", .timestamp(entry.expiresAt))]))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await cache.delete(key: key(context))
        return Response(status: .noContent)
    }
}
