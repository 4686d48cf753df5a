import FoundationEssentials
import HTTPTypes
import Hummingbird
import ResearchStore
import Synchronization

/// Protects the process from overload: at most `maximumConcurrent` requests in flight (more are
/// answered `503` at once rather than queued), URLs of at most `maximumURLBytes` (`414`), and a
/// deadline for reading a request body (`408`). Probes (health included: it is cached and off the request pool) and metrics are never turned away.
struct LimitsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maximumConcurrent: Int
    let maximumURLBytes: Int
    let bodyReadTimeout: Duration
    let inFlight = InFlightCounter()

    static let exempt: Set<String> = ["/livez", "/readyz", "/db/health", "/metrics"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.uri.description.utf8.count <= maximumURLBytes else {
            throw RequestRefusal(status: .uriTooLong, detail: "the URL is longer than \(maximumURLBytes) bytes")
        }
        if Self.exempt.contains(request.uri.path) { return try await next(request, context) }
        guard inFlight.enter(maximum: maximumConcurrent) else {
            throw RequestRefusal(
                status: .serviceUnavailable, detail: "the server is at its limit of \(maximumConcurrent) requests in flight; retry shortly",
                retryAfterSeconds: 1)
        }
        defer { inFlight.leave() }
        return try await BodyLimits.$readTimeout.withValue(bodyReadTimeout) { try await next(request, context) }
    }
}

/// Requests in flight.
final class InFlightCounter: Sendable {
    private let count = Mutex(0)

    func enter(maximum: Int) -> Bool {
        count.withLock { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        count.withLock { $0 -= 1 }
    }
}
