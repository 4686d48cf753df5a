import Hummingbird
import Logging
import PostgresPool
import ResearchStore
import ServiceLifecycle

/// Flips readiness to false the moment graceful shutdown begins, then waits `drainDelay` so
/// load balancers see `/readyz` fail and stop sending new requests before the server stops
/// accepting them. Run it in the same group as the application and after it: a service group
/// shuts its services down in reverse order, so this one hears of the shutdown first.
public struct ReadinessGate: Service {
    let shutdown: ShutdownState
    let drainDelay: Duration

    public init(shutdown: ShutdownState, drainDelay: Duration) {
        self.shutdown = shutdown
        self.drainDelay = drainDelay
    }

    public func run() async throws {
        try? await gracefulShutdown()
        shutdown.begin()
        try? await Task.sleep(for: drainDelay)
    }
}
