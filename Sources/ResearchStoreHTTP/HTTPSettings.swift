import Hummingbird
import Logging
import PostgresPool
import ResearchStore
import ServiceLifecycle

/// Where the HTTP server listens, how callers are identified, and the limits that protect it.
public struct HTTPSettings: Sendable {
    public var host: String
    public var port: Int
    public var auth: AuthMode = .none
    /// Requests per second per caller, and the burst above it; nil: no rate limit.
    public var rateLimit: (rate: Double, burst: Int)?
    /// Requests in flight before new ones are answered `503`.
    public var maximumConcurrentRequests = 512
    public var maximumURLBytes = 8 * 1024
    /// Request headers, all together.
    public var maximumHeaderBytes = 32 * 1024
    /// A connection with no request in progress (or whose request head trickles in) is closed after this.
    public var idleTimeout: Duration = .seconds(30)
    /// A request body must arrive within this (`408` otherwise).
    public var bodyReadTimeout: Duration = .seconds(30)

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}
