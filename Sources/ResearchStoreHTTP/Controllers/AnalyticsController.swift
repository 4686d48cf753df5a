import Hummingbird
import ResearchStore

/// `/db/analytics…`.
struct AnalyticsController {
    let analytics: AnalyticsService

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/analytics/log", use: log)
        router.post("/db/analytics/batch", use: logBatch)
        router.get("/db/analytics/summary", use: summary)
        router.get("/db/analytics/sessions/:id", use: session)
    }

    @Sendable func log(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let accepted = try await analytics.log(caller: try Identity.caller(of: request), body: try await JSONRequest.object(request))
        return JSONResponse(status: .accepted, body: .object([("accepted", .integer(accepted))]))
    }

    @Sendable func logBatch(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let body = try await JSONRequest.object(request, limit: BodyLimits.batch)
        let accepted = try await analytics.logBatch(caller: try Identity.caller(of: request), body: body)
        return JSONResponse(status: .accepted, body: .object([("accepted", .integer(accepted))]))
    }

    @Sendable func summary(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await analytics.summary(caller: try Identity.caller(of: request), query: request.queryValues).json)
    }

    @Sendable func session(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await analytics.session(caller: try Identity.caller(of: request), id: context.parameters.get("id") ?? "").json)
    }
}
