import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// Streaming replicas that reads may use (`DATABASE_REPLICA_URLS`): one small pool each, and a
/// watch that reads every `checkInterval` whether each answers, how far it has replayed the
/// primary's WAL and how far behind it is. `replica(after:…)` picks one for a read.
public final class ReadReplicas: Service, Sendable {
    /// What the watch last saw of one replica.
    public struct Status: Sendable, Equatable {
        /// Host and port, as configured (never the password).
        public var host: String
        public var reachable = false
        /// The WAL position it has replayed up to (bytes from 0/0).
        public var replayed: UInt64?
        /// How far it is behind: 0 when it has replayed all it received, else the age of the
        /// last transaction it replayed. Nil when it cannot tell (nothing replayed yet).
        public var lagMilliseconds: Int?
    }

    let pools: [PostgresPool]
    private let statuses: Mutex<[Status]>
    private let next = Atomic<Int>(0)
    let checkInterval: Duration
    let logger: Logger

    public init(
        connections: [PostgresConfiguration], pool configuration: PostgresPoolConfiguration, checkInterval: Duration = .milliseconds(250),
        logger: Logger
    ) {
        var configuration = configuration
        configuration.serverMustBeWritable = false
        pools = connections.map { PostgresPool(configuration: configuration, connection: $0, logger: logger) }
        statuses = Mutex(connections.map { Status(host: $0.hostDescription) })
        self.checkInterval = checkInterval
        self.logger = logger
    }

    public var isEmpty: Bool { pools.isEmpty }

    /// What the watch last saw, in configuration order.
    public var current: [Status] { statuses.withLock { $0 } }

    /// A replica for a read: with `position` (a client's last write), one that has replayed it,
    /// waiting up to `wait` for one to get there; without, one at most `maximumLag` behind.
    /// Nil: read from the primary.
    public func replica(after position: UInt64?, wait: Duration, maximumLag: Duration) async -> PostgresPool? {
        let seen = current
        let reachable = seen.indices.filter { seen[$0].reachable }
        guard !reachable.isEmpty else { return nil }
        guard let position else {
            let limit = Int(maximumLag.components.seconds * 1000 + maximumLag.components.attoseconds / 1_000_000_000_000_000)
            return pick(reachable.filter { (seen[$0].lagMilliseconds ?? .max) <= limit })
        }
        if let ready = pick(reachable.filter { (seen[$0].replayed ?? 0) >= position }) { return ready }
        // Look again, every few milliseconds, until one has replayed the position or the wait is
        // over. Reads waiting together share each look.
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(Self.lookInterval, deadline - .now))
            await lookAgain()
            let seen = current
            if let ready = pick(seen.indices.filter { seen[$0].reachable && (seen[$0].replayed ?? 0) >= position }) { return ready }
        }
        return nil
    }

    /// How often reads that wait for a replica look at its position.
    static let lookInterval: Duration = .milliseconds(5)

    private struct Look {
        var started: ContinuousClock.Instant
        var done: Task<Void, Never>
    }

    private let look = Mutex<Look?>(nil)

    /// Checks every replica, unless a check began less than `lookInterval` ago: then waits for it.
    private func lookAgain() async {
        let seen = current
        let reachable = seen.indices.filter { seen[$0].reachable }
        let done = look.withLock { look -> Task<Void, Never> in
            if let look, ContinuousClock.now - look.started < Self.lookInterval { return look.done }
            let done = Task { await self.check(reachable) }
            look = Look(started: .now, done: done)
            return done
        }
        await done.value
    }

    /// Round robin over `candidates`.
    private func pick(_ candidates: [Int]) -> PostgresPool? {
        guard !candidates.isEmpty else { return nil }
        let turn = next.add(1, ordering: .relaxed).newValue
        return pools[candidates[turn % candidates.count]]
    }

    // MARK: - Service

    /// Runs the replicas' pools and the watch until graceful shutdown.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for pool in pools { group.addTask { try? await pool.run() } }
            group.addTask { await self.watch() }
        }
    }

    private func watch() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.check(Array(self.pools.indices))
                try? await Task.sleep(for: self.checkInterval)
            }
        }
    }

    /// Checks these replicas at once (one that does not answer holds up no other).
    private func check(_ indices: [Int]) async {
        await withDiscardingTaskGroup { group in
            for index in indices { group.addTask { await self.check(index) } }
        }
    }

    private func check(_ index: Int) async {
        var status = statuses.withLock { $0[index] }
        do {
            let row = try await pools[index].query(
                """
                SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0')::int8,
                       CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                            ELSE floor(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::int8
                       END
                """
            ).first
            let (replayed, lag) = try row?.decode((Int64?, Int64?).self) ?? (nil, nil)
            status.reachable = true
            status.replayed = replayed.map { UInt64($0) }
            status.lagMilliseconds = lag.map { Int(max(0, $0)) }
        } catch {
            if status.reachable { logger.warning("read replica unreachable", metadata: ["replica": "\(status.host)", "error": "\(error)"]) }
            status.reachable = false
        }
        statuses.withLock { $0[index] = status }
    }
}

extension PostgresConfiguration {
    /// `host:port` as configured, for health reports and logs.
    fileprivate var hostDescription: String {
        "\(value(of: "hostaddr") ?? value(of: "host") ?? "localhost"):\(value(of: "port") ?? "5432")"
    }
}
