import HTTPTypes
import Hummingbird
import Logging
import Postgres
import PostgresPool
import ResearchStore

/// Turns every error into an RFC 9457 `application/problem+json` response with the request id.
///
/// Service errors map by kind; pool and connection errors become `503` with `Retry-After`;
/// Hummingbird's own errors keep their status; anything else is logged and answered with a
/// bare `500` that says nothing of its cause. No SQL, stack trace or secret reaches a client.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let problem = Problem(error, logger: context.logger)
            var response = problem.response(requestID: context.requestID)
            response.headers[.requestID] = context.requestID
            return response
        }
    }
}
