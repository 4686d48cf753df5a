import Hummingbird
import ResearchStore

/// `/db/sessions…`: decode, call the service, encode.
struct SessionsController {
    let sessions: SessionService
    let idempotent: IdempotentCreate

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/sessions/create", use: create)
        router.get("/db/sessions", use: list)
        router.get("/db/sessions/:id", use: get)
        router.patch("/db/sessions/:id", use: update)
        router.delete("/db/sessions/:id", use: delete)
        router.post("/db/sessions/:id/fork", use: fork)
    }

    @Sendable func fork(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        // An Idempotency-Key is scoped to the source session: the same key and body forking
        // another session is another request.
        return try await idempotent.run(request, context: context, route: "/db/sessions/\(id)/fork") { caller, body in
            let session = try await sessions.fork(caller: caller, id: id, body: body)
            return JSONResponse(
                status: .created, headers: [.location: "/db/sessions/\(session.id.lowercased)"], body: session.json)
        }
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/sessions/create") { caller, body in
            let session = try await sessions.create(caller: caller, body: body)
            return JSONResponse(
                status: .created, headers: [.location: "/db/sessions/\(session.id.lowercased)"], body: session.json)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let id = context.parameters.get("id") ?? ""
        return JSONResponse(body: try await sessions.get(caller: try context.requireCaller(), id: id).json)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let id = context.parameters.get("id") ?? ""
        let body = try await JSONRequest.object(request)
        return JSONResponse(body: try await sessions.update(caller: try context.requireCaller(), id: id, body: body).json)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await sessions.delete(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "")
        return Response(status: .noContent)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let page = try await sessions.list(caller: try context.requireCaller(), query: request.queryValues)
        return JSONResponse(body: .page(page) { $0.json })
    }
}
