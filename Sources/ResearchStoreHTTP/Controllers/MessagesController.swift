import Hummingbird
import ResearchStore

/// `/db/messages…`, a session's messages, and `/db/context/{session_id}`.
struct MessagesController {
    let messages: MessageService
    let context: ContextService
    let idempotent: IdempotentCreate
    let metrics: AppMetrics

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/messages/store", use: store)
        router.post("/db/messages/batch", use: storeBatch)
        router.get("/db/messages/:id", use: get)
        router.get("/db/sessions/:id/messages", use: list)
        router.get("/db/context/:session_id", use: contextWindow)
    }

    @Sendable func store(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/messages/store") { caller, body in
            let message = try await messages.store(caller: caller, body: body)
            metrics.recordIngested(1, table: "messages")
            return JSONResponse(
                status: .created, headers: [.location: "/db/messages/\(message.id.lowercased)"], body: message.json)
        }
    }

    @Sendable func storeBatch(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await idempotent.run(request, context: context, route: "/db/messages/batch", limit: BodyLimits.batch) { caller, body in
            let stored = try await messages.storeBatch(caller: caller, body: body)
            metrics.recordIngested(stored.count, table: "messages")
            let session = stored.first?.sessionID.lowercased ?? ""
            return JSONResponse(
                status: .created, headers: [.location: "/db/sessions/\(session)/messages"],
                body: .object([("items", .array(stored.map(\.json)))]))
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await messages.get(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "").json)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        let page = try await messages.list(
            caller: try context.requireCaller(), sessionID: context.parameters.get("id") ?? "", query: request.queryValues)
        return JSONResponse(body: .page(page) { $0.json })
    }

    @Sendable func contextWindow(_ request: Request, context: AppRequestContext) async throws -> JSONBytesResponse {
        let window = try await self.context.context(
            caller: try context.requireCaller(), sessionID: context.parameters.get("session_id") ?? "",
            query: request.queryValues)
        return JSONBytesResponse(bytes: window.jsonBytes)
    }
}
