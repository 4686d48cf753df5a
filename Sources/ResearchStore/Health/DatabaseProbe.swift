import Logging
import Postgres
import ServiceLifecycle

/// Checks the database for the health endpoints on a connection of its own, so probes never
/// queue behind the request pool: at full pool saturation `/readyz` and `/db/health` still
/// answer at once. A result is reused for `maximumAge`, and concurrent probes share one check,
/// so a flood of unauthenticated health requests costs at most one query per `maximumAge`.
///
/// As a `Service` it closes its connection on graceful shutdown.
public actor DatabaseProbe: Service {
    private let configuration: PostgresConfiguration
    private let executor = BlockingExecutor()
    private let logger: Logger
    private let maximumAge: Duration
    private var connection: PostgresConnection?
    private var last: (at: ContinuousClock.Instant, health: DatabaseHealth)?
    private var running: Task<DatabaseHealth, Never>?
    private var closed = false
    /// Checks that reached the database, for tests and figures.
    private(set) var checksRun = 0

    /// `configuration` is the request pool's (its connect timeout included); the probe bounds its
    /// query time unless the pool sends no startup options (behind PgBouncer, which refuses them,
    /// the role's own `statement_timeout` applies).
    public init(configuration: PostgresConfiguration, logger: Logger, maximumAge: Duration = .seconds(1)) {
        var own = configuration
        if configuration.statementTimeout != nil { own.statementTimeout = .seconds(2) }
        own.usePreparedStatements = false
        own.observer = nil
        self.configuration = own
        self.logger = logger
        self.maximumAge = maximumAge
    }

    /// The database's state, at most `maximumAge` old.
    public func check() async -> DatabaseHealth {
        if let last, ContinuousClock.now - last.at < maximumAge { return last.health }
        if let running { return await running.value }
        let task = Task { await self.probe() }
        running = task
        let health = await task.value
        running = nil
        last = (.now, health)
        return health
    }

    private func probe() async -> DatabaseHealth {
        guard !closed else { return DatabaseHealth(reachable: false, latencyMilliseconds: nil, schemaVersion: nil) }
        checksRun += 1
        let started = ContinuousClock.now
        do {
            let connection = try await openConnection()
            let version = try await SchemaVersionReader.appliedVersion(on: connection)
            return DatabaseHealth(reachable: true, latencyMilliseconds: Self.milliseconds(.now - started), schemaVersion: version)
        } catch {
            logger.warning("health probe: the database did not answer", metadata: ["db.error": "\(error)"])
            if let broken = connection {
                connection = nil
                await broken.close()
            }
            return DatabaseHealth(reachable: false, latencyMilliseconds: nil, schemaVersion: nil)
        }
    }

    private func openConnection() async throws -> PostgresConnection {
        if let connection, connection.isReusable, connection.looksAliveWhileIdle() { return connection }
        if let stale = connection {
            connection = nil
            await stale.close()
        }
        let opened = try await PostgresConnection.connect(configuration: configuration, executor: executor, logger: logger)
        connection = opened
        return opened
    }

    /// Milliseconds with two decimals.
    static func milliseconds(_ duration: Duration) -> Double {
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return (milliseconds * 100).rounded() / 100
    }

    /// Waits for graceful shutdown, then closes the connection and the probe's thread.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes the connection; later checks report the database unreachable.
    public func close() async {
        closed = true
        if let connection {
            self.connection = nil
            await connection.close()
        }
        await executor.shutdown()
    }
}
