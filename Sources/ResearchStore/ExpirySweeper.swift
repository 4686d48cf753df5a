import Logging
import PostgresPool
import ServiceLifecycle

/// Deletes expired result-cache entries and idempotency records, every `interval`, in batches
/// of `batchSize` rows (short transactions, short locks). Reads already treat expired rows as
/// absent; this only reclaims their space. Failures are logged and retried on the next round.
public struct ExpirySweeper: Service {
    let cache: CacheStore
    let idempotency: IdempotencyService
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(pool: PostgresPool, interval: Duration, batchSize: Int = 1000, logger: Logger) {
        cache = CacheStore(pool: pool)
        idempotency = IdempotencyService(pool: pool)
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await sweepOnce()
            }
        }
    }

    /// One round over both tables; returns the rows deleted from each.
    @discardableResult
    public func sweepOnce() async -> (cache: Int, idempotency: Int) {
        let cacheRows = await sweep("result_cache") { try await cache.sweepExpired(limit: batchSize) }
        let idempotencyRows = await sweep("idempotency_keys") { try await idempotency.sweepExpired(limit: batchSize) }
        return (cacheRows, idempotencyRows)
    }

    /// Deletes batch after batch until one comes back short.
    private func sweep(_ table: String, batch: () async throws -> Int) async -> Int {
        var total = 0
        do {
            while !Task.isCancelled {
                let deleted = try await batch()
                total += deleted
                if deleted < batchSize { break }
            }
        } catch is CancellationError {
            return total  // shutting down
        } catch {
            logger.warning("expiry sweep failed; retrying next round", metadata: ["table": "\(table)", "error": "\(error)"])
        }
        if total > 0 { logger.debug("swept expired rows", metadata: ["table": "\(table)", "rows": "\(total)"]) }
        return total
    }
}
