import Hummingbird
import NIOCore
import Logging
import Synchronization
import ResearchStore

/// The per-request context: Hummingbird's core plus the request id every response and log
/// line carries.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's `X-Request-ID` when sane, else a new one; set by `RequestIDMiddleware`.
    public var requestID: String = ""
    /// Who is calling, set by `AuthMiddleware` on every route that is not public.
    public var caller: Caller? {
        didSet { identity.userID = caller?.userID }
    }
    /// Shared by every copy of this request's context, so that the request log (an outer
    /// middleware) learns the user id that an inner one found.
    let identity = RequestIdentity()
    /// The client's connection, for closing it when a streamed response stalls.
    let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Bodies are read with explicit per-route limits (see `BodyLimits`); this is the ceiling.
    public var maxUploadSize: Int { BodyLimits.batch }

    /// The authenticated caller; only public routes run without one.
    func requireCaller() throws -> Caller {
        guard let caller else { throw ServiceError(.unauthorized, "no credentials") }
        return caller
    }
}
