import Hummingbird
import ResearchStore

/// `/db/admin…`: statistics and the audit trail, for admins only.
struct AdminController {
    let statistics: AdminStatisticsService
    let audit: AuditService

    func register(with router: Router<AppRequestContext>) {
        router.get("/db/admin/stats/feedback", use: feedback)
        router.get("/db/admin/stats/telemetry", use: telemetry)
        router.get("/db/admin/stats/llm", use: llm)
        router.get("/db/admin/stats/activity", use: activity)
        router.get("/db/admin/audit", use: auditTrail)
    }

    @Sendable func feedback(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await statistics.feedback(caller: try context.requireCaller(), query: request.queryValues).json)
    }

    @Sendable func telemetry(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await statistics.telemetry(caller: try context.requireCaller(), query: request.queryValues).json)
    }

    @Sendable func llm(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await statistics.llm(caller: try context.requireCaller(), query: request.queryValues).json)
    }

    @Sendable func activity(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await statistics.activity(caller: try context.requireCaller(), query: request.queryValues).json)
    }

    @Sendable func auditTrail(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let page = try await audit.list(caller: try context.requireCaller(), query: request.queryValues)
        return JSONResponse(body: .page(page) { $0.json })
    }
}
