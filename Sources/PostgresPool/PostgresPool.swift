import Logging
import NIOCore
import NIOPosix
import Postgres
import ServiceLifecycle
import Synchronization

/// A bounded pool of PostgreSQL connections, lent through closures so none can leak.
///
/// At most `maximumConnections` are open (connecting ones included); callers beyond that wait in
/// FIFO order for up to `acquireTimeout`, and at most `maximumWaiters` may wait. A connection comes
/// back only if it is healthy with no transaction open; otherwise it is closed and, when someone
/// waits, replaced. As a `Service`, `run()` keeps the minimum open, closes stale connections, and
/// on graceful shutdown stops lending and closes everything.
public final class PostgresPool: Service, Sendable {
    public let configuration: PostgresPoolConfiguration
    public let connectionConfiguration: PostgresConfiguration
    let executor: BlockingExecutor
    let logger: Logger
    private let state: Mutex<PoolState>
    /// Called with each wait for a connection, for a histogram.
    private let recordWait: (@Sendable (Duration) -> Void)?

    public init(
        configuration: PostgresPoolConfiguration,
        connection: PostgresConfiguration,
        logger: Logger,
        recordWait: (@Sendable (Duration) -> Void)? = nil
    ) {
        precondition(configuration.maximumConnections > 0, "the pool needs at least one connection")
        self.configuration = configuration
        self.connectionConfiguration = connection
        self.logger = logger
        self.recordWait = recordWait
        self.executor = BlockingExecutor()
        self.state = Mutex(PoolState(maximum: configuration.maximumConnections))
    }

    /// Current figures.
    public var statistics: PostgresPoolStatistics { state.withLock { $0.snapshot } }

    /// For tests: whether shutdown began, when maintenance may open connections again, and how
    /// often `shutdown()` looked whether leases were back.
    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }
    var retryNotBefore: ContinuousClock.Instant? { state.withLock { $0.retryNotBefore } }
    var drainChecks: Int { state.withLock { $0.drainChecks } }

    // MARK: - Lending

    /// Lends a connection to `body` and takes it back afterwards, whatever happens. Inside
    /// `withSharedTransaction` it lends that transaction's connection.
    ///
    /// `body` runs where the caller runs; the connection serves one operation at a time, so
    /// `body` must not drive it from concurrent child tasks (they get `concurrentUse`).
    public func withConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        if let shared = sharedConnection { return try await body(shared) }
        if let route = activeReadRoute {
            do {
                return try await route.replica.withConnection(body)
            } catch where Self.primaryMayRetry(after: error) {
                logger.debug("a unit of work routed to a replica runs again on the primary", metadata: ["error": "\(error)"])
                route.onPrimary.store(true, ordering: .relaxed)
            }
        }
        let connection = try await lease()
        let result: Result
        do {
            result = try await body(connection)
            try await connection.sendQueuedStatements()
        } catch {
            await connection.dropQueuedStatements()
            if configuration.serverMustBeWritable, (error as? PostgresError)?.sqlState == "25006" {
                logger.warning("the database refused a write as read-only; closing the connection", metadata: ["db.sqlstate": "25006"])
                discard(connection)
            } else {
                release(connection)
            }
            throw error
        }
        release(connection)
        return result
    }

    /// Lends a connection inside `BEGIN … COMMIT`; see `PostgresConnection.withTransaction`.
    /// Inside `withSharedTransaction` it joins that transaction instead.
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        if let shared = Self.sharedTransaction, shared.pool == ObjectIdentifier(self) {
            if shared.isTransaction { return try await body(shared.connection) }  // joins the shared transaction
            return try await shared.connection.withTransaction { connection in try await body(connection) }
        }
        return try await withConnection { connection in
            try await connection.withTransaction { connection in try await body(connection) }
        }
    }

    /// Runs one statement on a lent connection.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    func lease() async throws -> PostgresConnection {
        try Task.checkCancellation()
        while true {
            switch state.withLock({ $0.lease(maximumWaiters: configuration.maximumWaiters) }) {
            case .use(let connection):
                if connection.looksAliveWhileIdle() { return connection }
                logger.info("discarding a broken idle connection")
                discard(connection)
            case .wait(let id, let openConnection):
                return try await wait(id: id, openConnection: openConnection)
            case .fail(let error):
                throw error
            }
        }
    }

    /// Queues the caller, then (only then, so the new connection cannot miss it) starts a
    /// connection if `lease` reserved one.
    private func wait(id: Int, openConnection: Bool) async throws -> PostgresConnection {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // A NIO timer, not a sleeping task: a cancelled `Task.sleep` holds its memory
                // until its deadline, so every served waiter would cost memory for a whole timeout.
                let timeout = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(
                    in: TimeAmount(configuration.acquireTimeout)
                ) { self.timeOut(waiter: id) }
                let waiter = PoolState.Waiter(
                    id: id, continuation: continuation, enqueuedAt: .now, timeout: timeout)
                let result = state.withLock { $0.enqueue(waiter) }
                if case .queued = result {} else { timeout.cancel() }
                switch result {
                case .queued: break
                case .served(let connection): continuation.resume(returning: connection)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .shuttingDown: continuation.resume(throwing: PostgresPoolError.shuttingDown)
                }
                if openConnection {
                    // Reserved by `lease`: start it even if this waiter left, another may need it.
                    startConnecting()
                }
            }
        } onCancel: {
            let waiter = state.withLock { $0.removeWaiter(id: id, markCancelled: true) }
            if let waiter {
                waiter.timeout.cancel()
                waiter.continuation.resume(throwing: CancellationError())
            }
        }
    }

    private func timeOut(waiter id: Int) {
        let waiter = state.withLock { state -> PoolState.Waiter? in
            let waiter = state.removeWaiter(id: id, markCancelled: false)
            if waiter != nil { state.statistics.timeouts += 1 }
            return waiter
        }
        waiter?.continuation.resume(throwing: PostgresPoolError.acquireTimedOut)
    }

    /// Takes a connection back: healthy and young ones are reused, others closed.
    func release(_ connection: PostgresConnection) {
        let expired = configuration.maximumLifetime.map { ContinuousClock.now - connection.openedAt >= $0 } ?? false
        let shuttingDown = state.withLock { $0.shuttingDown }
        guard connection.isReusable, !expired, !shuttingDown else {
            if !connection.isReusable { logger.debug("closing a connection returned broken or mid-transaction") }
            discard(connection)
            return
        }
        hand(connection)
    }

    /// Gives a free connection to the oldest waiter, or puts it idle, or — when shutdown began
    /// after the caller last looked — closes it.
    private func hand(_ connection: PostgresConnection) {
        let now = ContinuousClock.now
        switch state.withLock({ $0.connectionAvailable(connection, now: now) }) {
        case .handoff(let handoff): resume(handoff)
        case .wentIdle: break
        case .close:
            Task { await connection.close() }
            signalIfDrained()
        }
    }

    private func resume(_ handoff: PoolState.Handoff) {
        handoff.waiter.timeout.cancel()
        if case .success = handoff.outcome { recordWait?(.now - handoff.waiter.enqueuedAt) }
        handoff.waiter.continuation.resume(with: handoff.outcome)
    }

    /// Closes a leased connection and opens a replacement if someone waits.
    private func discard(_ connection: PostgresConnection) {
        let replace = state.withLock { $0.leasedConnectionDiscarded() }
        Task { await connection.close() }
        if replace { startConnecting() }
        signalIfDrained()
    }

    /// Resumes `shutdown()` if it waits and nothing is leased or connecting any more.
    private func signalIfDrained() {
        state.withLock { $0.takeDrainedIfDone() }?.resume()
    }

    /// Opens one connection (already counted as connecting) and hands it on.
    ///
    /// A failure fails the oldest waiter at once (callers learn quickly that the database is down)
    /// and a waiter left without a connection attempt gets a new one at once; only maintenance
    /// (the minimum) backs off. The log says "unreachable" once and "reachable again" once, not a
    /// line per attempt.
    private func startConnecting() {
        Task {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: connectionConfiguration, executor: executor, logger: logger)
                if state.withLock({ $0.connected() }) { logger.info("database reachable again") }
                hand(connection)
            } catch {
                let (handoff, firstFailure) = state.withLock { state in
                    let backoff = Self.backoff(
                        afterFailures: state.failuresInARow + 1, base: configuration.reconnectBackoffBase,
                        cap: configuration.reconnectBackoffCap)
                    return state.connectFailed(error, now: .now, backoff: backoff)
                }
                if firstFailure {
                    logger.warning("database unreachable", metadata: ["db.error": "\(error)"])
                } else {
                    logger.debug("connecting to PostgreSQL failed again", metadata: ["db.error": "\(error)"])
                }
                if let handoff { resume(handoff) }
                if state.withLock({ $0.startReplacementIfNeeded() }) { startConnecting() }
                signalIfDrained()
            }
        }
    }

    /// Exponential backoff with full jitter: uniformly random between zero and
    /// `base × 2^(failures − 1)`, at most `cap`, so many instances do not retry in step.
    static func backoff(afterFailures failures: Int, base: Duration, cap: Duration) -> Duration {
        let ceiling = min(cap, base * (1 << min(max(failures - 1, 0), 30)))
        let (seconds, attoseconds) = ceiling.components
        let nanoseconds = max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return .nanoseconds(Int64.random(in: 0...nanoseconds))
    }

    // MARK: - Service

    /// Keeps the pool in shape until graceful shutdown, then drains it.
    public func run() async throws {
        logger.info(
            "database pool starting",
            metadata: ["db.pool.max": "\(configuration.maximumConnections)", "db.target": "\(connectionConfiguration)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.maintain()
                try? await Task.sleep(for: self.configuration.maintenanceInterval)
            }
        }
        await shutdown()
    }

    /// Closes stale idle connections and opens new ones up to the minimum.
    func maintain() {
        let (stale, toOpen) = state.withLock { state -> ([PostgresConnection], Int) in
            let stale = state.takeStaleIdle(
                now: .now, minimum: configuration.minimumConnections,
                idleTimeout: configuration.idleTimeout, maximumLifetime: configuration.maximumLifetime)
            guard !state.shuttingDown, state.retryNotBefore.map({ .now >= $0 }) ?? true else { return (stale, 0) }
            let missing = max(0, min(configuration.minimumConnections, state.maximum) - state.open)
            state.connecting += missing
            return (stale, missing)
        }
        for connection in stale { Task { await connection.close() } }
        for _ in 0..<toOpen { startConnecting() }
    }

    /// Stops lending, waits for leases to come back (up to the grace period), closes everything.
    public func shutdown() async {
        let (waiters, idle) = state.withLock { $0.beginShutdown() }
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: PostgresPoolError.shuttingDown)
        }
        for connection in idle { await connection.close() }
        // Wait for the last lease or connection attempt to end (it resumes us) or for the grace
        // period. No polling with Task.sleep: `run()` calls this from a cancelled task, where a
        // sleep returns at once. The timer is an unstructured task, so it is not cancelled with us.
        var timer: Task<Void, Never>?
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                state.drainChecks += 1
                guard state.leased + state.connecting > 0 else { return true }
                state.drained = continuation
                return false
            }
            if done {
                continuation.resume()
                return
            }
            timer = Task { [grace = configuration.shutdownGracePeriod] in
                try? await Task.sleep(for: grace)
                self.state.withLock { state in
                    defer { state.drained = nil }
                    return state.drained
                }?.resume()
            }
        }
        timer?.cancel()
        let remaining = state.withLock { $0.leased + $0.connecting }
        if remaining > 0 {
            logger.warning("database pool stopped with connections still in use", metadata: ["db.pool.in_use": "\(remaining)"])
        } else {
            await executor.shutdown()
            logger.info("database pool stopped")
        }
    }
}
