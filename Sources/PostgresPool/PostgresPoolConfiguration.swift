/// Sizes and timings of a `PostgresPool`.
public struct PostgresPoolConfiguration: Sendable {
    /// Connections kept open even when idle (`DB_POOL_MIN`).
    public var minimumConnections = 0
    /// Hard upper bound on open connections, connecting ones included (`DB_POOL_MAX`).
    public var maximumConnections = 10
    /// How long a caller may wait for a connection before `PostgresPoolError.acquireTimedOut`.
    public var acquireTimeout: Duration = .seconds(5)
    /// Callers allowed to wait at once; one more gets `PostgresPoolError.tooManyWaiters` at once.
    public var maximumWaiters = 1_000
    /// A connection older than this is closed when it comes back (spreads load after failover).
    public var maximumLifetime: Duration? = .seconds(30 * 60)
    /// An idle connection unused for this long is closed, down to `minimumConnections`.
    public var idleTimeout: Duration? = .seconds(5 * 60)
    /// How often `run()` closes stale connections and tops up to the minimum.
    public var maintenanceInterval: Duration = .seconds(1)
    /// On graceful shutdown, how long leases may take to come back before `run()` gives up on them.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// After a failed connect, maintenance waits a random time up to this, doubled per further
    /// failure up to `reconnectBackoffCap`, before opening connections again (full jitter).
    public var reconnectBackoffBase: Duration = .milliseconds(50)
    public var reconnectBackoffCap: Duration = .seconds(5)
    /// A connection whose statement failed with 25006 (read-only transaction) is closed, not lent
    /// again: its server turned read-only, as an old primary does after a failover, and a new
    /// connection (with `target_session_attrs=read-write`) finds the new one. False for replicas.
    public var serverMustBeWritable = true

    public init() {}
}

/// Why a connection could not be lent.
public struct PostgresPoolError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Base: String, Sendable { case acquireTimedOut, tooManyWaiters, shuttingDown }
    let base: Base

    /// No connection came free within `acquireTimeout`.
    public static let acquireTimedOut = Self(base: .acquireTimedOut)
    /// The wait queue is full.
    public static let tooManyWaiters = Self(base: .tooManyWaiters)
    /// The pool is shutting down and lends nothing more.
    public static let shuttingDown = Self(base: .shuttingDown)

    public var description: String { "PostgresPoolError(\(base.rawValue))" }
}

/// A snapshot of the pool's figures, for `/db/health` and metrics.
public struct PostgresPoolStatistics: Sendable, Equatable {
    public var maximum: Int
    /// Open or opening connections.
    public var open: Int
    public var inUse: Int
    public var idle: Int
    /// Callers waiting for a connection.
    public var waiting: Int
    /// Leases granted since start.
    public var acquisitions: Int
    /// Leases that had to wait, and how long they waited in total.
    public var waits: Int
    public var totalWait: Duration
    public var timeouts: Int
    public var connectFailures: Int
    /// Connections closed because they were broken, expired or idle too long.
    public var discarded: Int
}
