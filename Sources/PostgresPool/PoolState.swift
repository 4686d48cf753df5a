import NIOCore
import Postgres

/// The pool's bookkeeping. A value type mutated only under the pool's lock; its methods decide,
/// the pool acts (resumes waiters, opens and closes connections) outside the lock.
struct PoolState {
    struct IdleConnection {
        let connection: PostgresConnection
        let since: ContinuousClock.Instant
    }

    struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<PostgresConnection, any Error>
        let enqueuedAt: ContinuousClock.Instant
        /// Fires `acquireTimeout` after queueing; cancelled (and freed at once) when served.
        let timeout: Scheduled<Void>
    }

    /// A waiter that has been given its outcome; resume it outside the lock.
    struct Handoff {
        let waiter: Waiter
        let outcome: Result<PostgresConnection, any Error>
    }

    let maximum: Int
    var idle: [IdleConnection] = []
    var leased = 0
    var connecting = 0
    var waiters: [Waiter] = []
    /// Waiters whose task was cancelled before they were queued.
    var cancelledBeforeQueued: Set<Int> = []
    var shuttingDown = false
    /// Resumed by whoever brings `leased + connecting` to zero during shutdown, or by the grace
    /// period's end: `shutdown()` waits on it instead of polling.
    var drained: CheckedContinuation<Void, Never>?
    /// How often `shutdown()` looked at the count: once, however long it waits (for tests).
    var drainChecks = 0
    /// Connection attempts that failed since the last success: for the backoff and for logging
    /// "unreachable" and "reachable again" once each.
    var failuresInARow = 0
    /// Until then, maintenance opens nothing (backoff after a failed connect).
    var retryNotBefore: ContinuousClock.Instant?
    var nextWaiterID = 0
    var statistics: PostgresPoolStatistics

    init(maximum: Int) {
        self.maximum = maximum
        statistics = PostgresPoolStatistics(
            maximum: maximum, open: 0, inUse: 0, idle: 0, waiting: 0, acquisitions: 0, waits: 0,
            totalWait: .zero, timeouts: 0, connectFailures: 0, discarded: 0)
    }

    var open: Int { idle.count + leased + connecting }

    enum LeaseDecision {
        case use(PostgresConnection)
        /// Queue up; `openConnection` says whether to start a new connection for it.
        case wait(id: Int, openConnection: Bool)
        case fail(any Error)
    }

    mutating func lease(maximumWaiters: Int) -> LeaseDecision {
        if shuttingDown { return .fail(PostgresPoolError.shuttingDown) }
        if let candidate = idle.popLast() {
            leased += 1
            statistics.acquisitions += 1
            return .use(candidate.connection)
        }
        guard waiters.count < maximumWaiters else { return .fail(PostgresPoolError.tooManyWaiters) }
        nextWaiterID += 1
        let openConnection = open < maximum
        if openConnection { connecting += 1 }
        return .wait(id: nextWaiterID, openConnection: openConnection)
    }

    enum EnqueueResult {
        case queued
        /// A connection went idle between `lease` and here: take it instead of waiting.
        case served(PostgresConnection)
        case cancelled
        case shuttingDown
    }

    /// Queues a waiter, unless its task was cancelled before it got here or a connection is idle.
    mutating func enqueue(_ waiter: Waiter) -> EnqueueResult {
        if cancelledBeforeQueued.remove(waiter.id) != nil { return .cancelled }
        if shuttingDown { return .shuttingDown }
        if let candidate = idle.popLast() {
            leased += 1
            statistics.acquisitions += 1
            return .served(candidate.connection)
        }
        waiters.append(waiter)
        return .queued
    }

    /// Removes a waiter whose task was cancelled or whose time ran out.
    mutating func removeWaiter(id: Int, markCancelled: Bool) -> Waiter? {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            return waiters.remove(at: index)
        }
        if markCancelled { cancelledBeforeQueued.insert(id) }
        return nil
    }

    enum Availability {
        /// Resume this waiter with the connection.
        case handoff(Handoff)
        case wentIdle
        /// The pool is shutting down: close the connection (no longer counted).
        case close
    }

    /// A leased or new connection is free: the oldest waiter gets it, else it goes idle — unless
    /// the pool began shutting down meanwhile, then it is to be closed (an idle connection would
    /// never be closed after `beginShutdown` took the idle list).
    mutating func connectionAvailable(_ connection: PostgresConnection, now: ContinuousClock.Instant) -> Availability {
        if shuttingDown {
            leased -= 1
            return .close
        }
        guard !waiters.isEmpty else {
            leased -= 1
            idle.append(IdleConnection(connection: connection, since: now))
            return .wentIdle
        }
        let waiter = waiters.removeFirst()
        statistics.acquisitions += 1
        statistics.waits += 1
        statistics.totalWait += now - waiter.enqueuedAt
        return .handoff(Handoff(waiter: waiter, outcome: .success(connection)))
    }

    /// A connection attempt succeeded: it counts as leased until handed over. Returns true when
    /// earlier attempts had failed (the database is reachable again).
    mutating func connected() -> Bool {
        connecting -= 1
        leased += 1
        defer {
            failuresInARow = 0
            retryNotBefore = nil
        }
        return failuresInARow > 0
    }

    /// A connection attempt failed: the oldest waiter learns why, so a caller does not wait out
    /// its whole timeout while the database is down; maintenance waits `backoff` before trying
    /// again. `firstFailure` is true for the first failure after a success.
    mutating func connectFailed(
        _ error: any Error, now: ContinuousClock.Instant, backoff: Duration
    ) -> (handoff: Handoff?, firstFailure: Bool) {
        connecting -= 1
        statistics.connectFailures += 1
        failuresInARow += 1
        retryNotBefore = now + backoff
        let handoff = waiters.isEmpty ? nil : Handoff(waiter: waiters.removeFirst(), outcome: .failure(error))
        return (handoff, failuresInARow == 1)
    }

    /// The continuation `shutdown()` waits on, once nothing is leased or connecting any more.
    mutating func takeDrainedIfDone() -> CheckedContinuation<Void, Never>? {
        guard shuttingDown, leased + connecting == 0 else { return nil }
        defer { drained = nil }
        return drained
    }

    /// A leased connection was closed; says whether to open a replacement for a waiter.
    mutating func leasedConnectionDiscarded() -> Bool {
        leased -= 1
        statistics.discarded += 1
        return startReplacementIfNeeded()
    }

    /// Starts a connection when waiters outnumber the connections being opened for them.
    mutating func startReplacementIfNeeded() -> Bool {
        guard !shuttingDown, waiters.count > connecting, open < maximum else { return false }
        connecting += 1
        return true
    }

    /// Stops lending: every waiter fails, idle connections are handed back to be closed.
    mutating func beginShutdown() -> (waiters: [Waiter], idle: [PostgresConnection]) {
        shuttingDown = true
        let failed = waiters
        waiters.removeAll()
        let closing = idle.map(\.connection)
        idle.removeAll()
        return (failed, closing)
    }

    /// Idle connections past their idle timeout (above the minimum) or lifetime.
    mutating func takeStaleIdle(
        now: ContinuousClock.Instant, minimum: Int, idleTimeout: Duration?, maximumLifetime: Duration?
    ) -> [PostgresConnection] {
        var stale: [PostgresConnection] = []
        var kept: [IdleConnection] = []
        var openAfter = open
        for entry in idle {
            let expired = maximumLifetime.map { now - entry.connection.openedAt >= $0 } ?? false
            let idleTooLong = idleTimeout.map { now - entry.since >= $0 } ?? false
            if expired || (idleTooLong && openAfter > minimum) {
                stale.append(entry.connection)
                openAfter -= 1
            } else {
                kept.append(entry)
            }
        }
        idle = kept
        statistics.discarded += stale.count
        return stale
    }

    var snapshot: PostgresPoolStatistics {
        var result = statistics
        result.open = open
        result.inUse = leased
        result.idle = idle.count
        result.waiting = waiters.count
        return result
    }
}
