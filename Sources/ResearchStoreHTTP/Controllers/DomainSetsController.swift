import Hummingbird
import ResearchStore

/// `/db/domain-sets…`: anyone reads, admins write.
struct DomainSetsController {
    let domainSets: DomainSetService
    let idempotent: IdempotentCreate

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/domain-sets", use: create)
        router.get("/db/domain-sets", use: list)
        router.get("/db/domain-sets/:name", use: get)
        router.put("/db/domain-sets/:name", use: replace)
        router.delete("/db/domain-sets/:name", use: delete)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/domain-sets") { caller, body in
            let created = try await domainSets.create(caller: caller, body: body)
            return JSONResponse(status: .created, headers: [.location: "/db/domain-sets/\(created.name)"], body: created.json)
        }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        return JSONResponse(body: .page(try await domainSets.list(query: request.queryValues)) { $0.json })
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        return JSONResponse(body: try await domainSets.get(name: context.parameters.get("name") ?? "").json)
    }

    /// `201` with `Location` when the set was created, `200` when it was replaced.
    @Sendable func replace(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let caller = try context.requireCaller()
        let body = try await JSONRequest.object(request)
        let (set, created) = try await domainSets.replace(caller: caller, name: context.parameters.get("name") ?? "", body: body)
        guard created else { return JSONResponse(body: set.json) }
        return JSONResponse(status: .created, headers: [.location: "/db/domain-sets/\(set.name)"], body: set.json)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await domainSets.delete(caller: try context.requireCaller(), name: context.parameters.get("name") ?? "")
        return Response(status: .noContent)
    }
}
