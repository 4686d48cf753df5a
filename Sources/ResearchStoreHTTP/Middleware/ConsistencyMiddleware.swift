import HTTPTypes
import Hummingbird
import ResearchStore

/// Read-your-writes: a successful write's response gets `X-Consistency-Token`; a read of the
/// API runs on a replica when `ConsistencyService` allows it, honouring the token it sends back.
/// Streams and health stay on their own connections.
struct ConsistencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let consistency: ConsistencyService
    let metrics: AppMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        guard path.hasPrefix("/db/"), path != "/db/health" else { return try await next(request, context) }
        let token = request.headers[.consistencyToken]
        if request.method == .get || request.method == .head {
            guard !path.hasSuffix("/stream") else { return try await next(request, context) }
            // Counted where the read ran: on the primary when a replica could not serve it.
            return try await consistency.read(token: token, ranOn: metrics.recordRead) {
                try await next(request, context)
            }
        }
        var response = try await next(request, context)
        // The write committed; without its position (the primary just went away) the answer
        // goes without a token rather than failing a write that is done.
        if (200..<300).contains(response.status.code), let issued = try? await consistency.tokenAfterWrite() {
            response.headers[.consistencyToken] = issued
        }
        return response
    }
}

extension HTTPField.Name {
    static let consistencyToken = Self("X-Consistency-Token")!
}
