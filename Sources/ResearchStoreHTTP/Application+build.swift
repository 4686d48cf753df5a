import Hummingbird
import Logging
import PostgresPool
import ResearchStore
import ServiceLifecycle

/// Where the HTTP server listens.
public struct HTTPSettings: Sendable {
    public var host: String
    public var port: Int
    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}

/// Builds the router: every controller registers its routes here.
public func buildRouter(health: HealthService) -> Router<BasicRequestContext> {
    let router = Router()
    HealthController(health: health).register(with: router)
    return router
}

/// Builds the whole application: router, pool service and shutdown signal. Tests reuse it.
public func buildApplication(
    settings: HTTPSettings, pool: PostgresPool, version: String, logger: Logger
) -> some ApplicationProtocol {
    let shutdown = ShutdownState()
    let health = HealthService(pool: pool, shutdown: shutdown, version: version)
    return Application(
        router: buildRouter(health: health),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "research-store"),
        services: [pool, ShutdownWatcher(shutdown: shutdown)],
        logger: logger)
}

/// Flips readiness to false the moment graceful shutdown begins.
struct ShutdownWatcher: Service {
    let shutdown: ShutdownState

    func run() async throws {
        try? await gracefulShutdown()
        shutdown.begin()
    }
}
