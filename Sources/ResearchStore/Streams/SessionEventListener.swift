import Logging
import Postgres
import ServiceLifecycle

/// The process's one `LISTEN`ing connection (not the pool's: it is held for good, and LISTEN
/// does not work through a transaction-mode pooler, hence `DATABASE_LISTEN_URL`). It hands each
/// notification of `research_store_events` to the hub, reconnects when the connection breaks and
/// then has every stream read again what it may have missed. It also wakes every stream each
/// `heartbeat` (their keep-alive) and ends them all as soon as the process begins shutting down.
public struct SessionEventListener: Service {
    public static let channel = "research_store_events"

    let hub: SessionEventHub
    let configuration: PostgresConfiguration
    let heartbeat: Duration
    let shutdown: ShutdownState
    let logger: Logger

    public init(
        hub: SessionEventHub, configuration: PostgresConfiguration, heartbeat: Duration, shutdown: ShutdownState, logger: Logger
    ) {
        self.hub = hub
        self.configuration = configuration
        self.heartbeat = heartbeat
        self.shutdown = shutdown
        self.logger = logger
    }

    public func run() async throws {
        let executor = BlockingExecutor()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(executor: executor) }
                group.addTask { await beat() }
                await group.next()
                group.cancelAll()
            }
        }
        hub.endAll()
        await executor.shutdown()
    }

    private func listen(executor: BlockingExecutor) async {
        var delay: Duration = .milliseconds(100)
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, executor: executor, logger: logger)
                do {
                    try await connection.query("LISTEN research_store_events")
                    delay = .milliseconds(100)
                    // Whatever was committed while no connection listened.
                    hub.signalAll { $0.catchUp = true }
                    while true { hub.deliver(try await connection.nextNotification().payload) }
                } catch {
                    await connection.close()
                    throw error
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("session stream listener lost its connection; reconnecting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Keep-alives, and the end of every stream once shutdown begins (checked four times a
    /// second). It runs until the service is cancelled: a service that returned before its
    /// group's graceful shutdown reached it would stop the whole group as a failure.
    private func beat() async {
        var sinceBeat: Duration = .zero
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            if shutdown.isShuttingDown {
                hub.endAll()
                continue
            }
            sinceBeat += .milliseconds(250)
            if sinceBeat >= heartbeat {
                sinceBeat = .zero
                hub.signalAll { $0.tick = true }
            }
        }
    }
}
