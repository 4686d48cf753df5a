import Logging
import PostgresPool
import ServiceLifecycle

/// How research workers' leases end (`RESEARCH_MAX_ATTEMPTS`, `RESEARCH_LEASE_SWEEP_INTERVAL_S`).
public struct ResearchLeaseSettings: Sendable {
    /// Claims a request gets before a lease that runs out fails it instead of returning it.
    public var maxAttempts = 3
    /// How often each process ends the leases that ran out: a request stays `running` at most
    /// this long past its lease.
    public var sweepInterval: Duration = .seconds(5)

    public init() {}
}

/// Ends research leases that ran out, every `sweepInterval` (see
/// `ResearchRequestStore.sweepExpiredLeases`). Every replica runs one; they never wait on each
/// other. Failures are logged and retried on the next round.
public struct ResearchLeaseSweeper: Service {
    let store: ResearchRequestStore
    let settings: ResearchLeaseSettings
    let batchSize: Int
    let logger: Logger

    public init(pool: PostgresPool, settings: ResearchLeaseSettings, batchSize: Int = 1000, logger: Logger) {
        store = ResearchRequestStore(pool: pool)
        self.settings = settings
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: settings.sweepInterval)
                await sweepOnce()
            }
        }
    }

    /// Ends every lease that ran out, batch after batch; returns how many.
    @discardableResult
    public func sweepOnce() async -> Int {
        var total = 0
        do {
            while !Task.isCancelled {
                let ended = try await store.sweepExpiredLeases(maxAttempts: settings.maxAttempts, limit: batchSize)
                total += ended
                if ended < batchSize { break }
            }
        } catch is CancellationError {
            return total
        } catch {
            logger.warning("research lease sweep failed; retrying next round", metadata: ["error": "\(error)"])
        }
        if total > 0 { logger.info("research leases expired", metadata: ["requests": "\(total)"]) }
        return total
    }
}
