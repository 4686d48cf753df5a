import FoundationEssentials
import HTTPTypes
import Hummingbird
import ResearchStore
import Synchronization

/// Applies per-caller rate limits after authentication and reports them in `RateLimit-*` headers.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let caller = context.caller else { return try await next(request, context) }
        let decision = limiter.take(caller.userID)
        var headers = HTTPFields()
        headers[.rateLimitLimit] = String(limiter.burst)
        headers[.rateLimitRemaining] = String(decision.remaining)
        headers[.rateLimitReset] = String(decision.resetSeconds)
        guard decision.allowed else {
            throw RequestRefusal(
                status: .tooManyRequests,
                detail: "rate limit of \(Self.plainNumber(limiter.rate)) requests per second exceeded; retry later",
                retryAfterSeconds: decision.retryAfterSeconds, headers: headers)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Errors become their problem response here, so that they carry the headers too.
            response = Problem(error, logger: context.logger).response(requestID: context.requestID)
        }
        for field in headers { response.headers[field.name] = field.value }
        return response
    }
}

extension HTTPField.Name {
    static let rateLimitLimit = Self("RateLimit-Limit")!
    static let rateLimitRemaining = Self("RateLimit-Remaining")!
    static let rateLimitReset = Self("RateLimit-Reset")!
}

extension RateLimitMiddleware {
    /// `5` for 5.0, `2.5` for 2.5: the rate as people write it.
    static func plainNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
