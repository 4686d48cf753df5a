import Hummingbird
import Logging

/// One log line per request, after it is answered: request id (from the logger's metadata),
/// method, route template, status, duration and the caller's user id. Never a token, a body
/// or message content.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = (ContinuousClock.now - started).components
        let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "http.method": .string(request.method.rawValue),
            "http.route": .string(context.endpointPath ?? "unmatched"),
            "http.status": .stringConvertible(Int(response.status.code)),
            "duration_ms": .stringConvertible((milliseconds * 1000).rounded() / 1000),
        ]
        if let userID = context.identity.userID { metadata["user.id"] = .string(userID) }
        context.logger.info("request", metadata: metadata)
        return response
    }
}
