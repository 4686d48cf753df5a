import Hummingbird
import ResearchStore

/// `/db/analytics…`.
struct AnalyticsController {
    let analytics: AnalyticsService
    let idempotent: IdempotentCreate
    let metrics: AppMetrics

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/analytics/log", use: log)
        router.post("/db/analytics/batch", use: logBatch)
        router.get("/db/analytics/summary", use: summary)
        router.get("/db/analytics/sessions/:id", use: session)
    }

    @Sendable func log(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/analytics/log") { caller, body in
            let accepted = try await analytics.log(caller: caller, body: body)
            metrics.recordIngested(accepted, table: "analytics_events")
            return JSONResponse(status: .accepted, body: .object([("accepted", .integer(accepted))]))
        }
    }

    @Sendable func logBatch(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/analytics/batch", limit: BodyLimits.batch) { caller, body in
            let accepted = try await analytics.logBatch(caller: caller, body: body)
            metrics.recordIngested(accepted, table: "analytics_events")
            return JSONResponse(status: .accepted, body: .object([("accepted", .integer(accepted))]))
        }
    }

    @Sendable func summary(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await analytics.summary(caller: try context.requireCaller(), query: request.queryValues).json)
    }

    @Sendable func session(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await analytics.session(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "").json)
    }
}
