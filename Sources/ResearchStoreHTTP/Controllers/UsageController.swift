import Hummingbird
import ResearchStore

/// `/db/llm-usage…`.
struct UsageController {
    let usage: LLMUsageService
    let idempotent: IdempotentCreate
    let metrics: AppMetrics

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/llm-usage", use: record)
        router.get("/db/llm-usage/:id", use: get)
    }

    @Sendable func record(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/llm-usage") { caller, body in
            let recorded = try await usage.record(caller: caller, body: body)
            metrics.recordIngested(1, table: "llm_usage")
            return JSONResponse(status: .created, headers: [.location: "/db/llm-usage/\(recorded.id.lowercased)"], body: recorded.json)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await usage.get(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "").json)
    }
}
