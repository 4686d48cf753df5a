import Hummingbird
import ResearchStore

/// `POST /db/tokens/count`: exact token counts for text or chat messages.
struct TokensController {
    let tokens: TokenCountService

    func register(with router: Router<AppRequestContext>) {
        router.post("/db/tokens/count", use: count)
    }

    @Sendable func count(_ request: Request, context: AppRequestContext) async throws -> JSONResponse {
        _ = try context.requireCaller()
        let count = try await tokens.count(body: try await JSONRequest.object(request))
        return JSONResponse(body: .object([("encoding", .string(count.encoding.rawValue)), ("tokens", .number(String(count.tokens)))]))
    }
}
