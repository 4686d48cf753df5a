import Hummingbird
import ResearchStore

/// `/db/research…`.
struct ResearchController {
    let research: ResearchService
    let idempotent: IdempotentCreate

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/research/create", use: create)
        router.get("/db/research", use: list)
        router.get("/db/research/:id", use: get)
        router.patch("/db/research/:id", use: update)
        router.post("/db/research/claim", use: claim)
        router.post("/db/research/:id/heartbeat", use: heartbeat)
    }

    @Sendable func claim(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONRequest.object(request)
        guard let claimed = try await research.claim(caller: try context.requireCaller(), body: body) else {
            return Response(status: .noContent)
        }
        return JSONResponse(body: claimed.json).response(from: request, context: context)
    }

    @Sendable func heartbeat(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let body = try await JSONRequest.object(request)
        let renewed = try await research.heartbeat(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "", body: body)
        return JSONResponse(body: renewed.json)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/research/create") { caller, body in
            let created = try await research.create(caller: caller, body: body)
            return JSONResponse(
                status: .created, headers: [.location: "/db/research/\(created.id.lowercased)"], body: created.json)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await research.get(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "").json)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let body = try await JSONRequest.object(request)
        let updated = try await research.update(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "", body: body)
        return JSONResponse(body: updated.json)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let page = try await research.list(caller: try context.requireCaller(), query: request.queryValues)
        return JSONResponse(body: .page(page) { $0.json })
    }
}
