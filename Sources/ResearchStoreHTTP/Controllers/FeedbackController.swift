import Hummingbird
import ResearchStore

/// `/db/feedback…`.
struct FeedbackController {
    let feedback: FeedbackService
    let idempotent: IdempotentCreate

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/feedback", use: rate)
        router.get("/db/feedback/:id", use: get)
    }

    /// `201` for a first rating, `200` when it replaced the caller's earlier rating of the target.
    @Sendable func rate(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/feedback") { caller, body in
            let (stored, created) = try await feedback.rate(caller: caller, body: body)
            guard created else { return JSONResponse(body: stored.json) }
            return JSONResponse(status: .created, headers: [.location: "/db/feedback/\(stored.id.lowercased)"], body: stored.json)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await feedback.get(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "").json)
    }
}
