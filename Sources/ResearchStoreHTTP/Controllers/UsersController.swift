import HTTPTypes
import Hummingbird
import ResearchStore

/// `/db/users/{id}…`: the record, the streamed export and the erasure of a user.
struct UsersController {
    let users: UserService

    func register(with router: Router<AppRequestContext>) {
        router.get("/db/users/:id", use: get)
        router.get("/db/users/:id/export", use: export)
        router.delete("/db/users/:id", use: erase)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        JSONResponse(body: try await users.get(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "").json)
    }

    /// Streams the document while it is read. Once the `200` is sent a failure can only cut the
    /// body short: the connection is closed, so a client never mistakes a partial export for a
    /// whole one (the document would not parse). A client that stops reading for
    /// `ExportLimits.writeTimeout` has its connection closed, which ends the export.
    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> Response {
        let export = try await users.export(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "")
        let channel = context.channel
        let logger = context.logger
        let body = ResponseBody { writer in
            try await WriteDeadline.run(
                timeout: users.exportLimits.writeTimeout,
                onStall: {
                    logger.warning("export client stopped reading; closing the connection")
                    channel.close(promise: nil)
                }
            ) { deadline in
                var encoder = ExportJSONEncoder()
                try await export.write { part in
                    if let chunk = encoder.encode(part) { try await deadline.watch { try await writer.write(chunk) } }
                }
                let last = encoder.finish()
                try await deadline.watch { try await writer.write(last) }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json",
                .contentDisposition: "attachment; filename=\"\(export.userID)-export.json\"",
            ],
            body: body)
    }

    @Sendable func erase(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await users.erase(caller: try context.requireCaller(), id: context.parameters.get("id") ?? "")
        return Response(status: .noContent)
    }
}
