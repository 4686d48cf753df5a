import FoundationEssentials
import Postgres
import PostgresPool

/// `research-store tokens backfill`: counts, in both encodings, the messages stored without exact
/// counts (before schema version 3, or with `TOKEN_ENCODING=estimate`).
///
/// Batch by batch, each its own statement and commit, in id order. It is safe while servers run:
/// it only fills counts that are still NULL, never changes `token_count`, and locks a batch's rows
/// only for its one UPDATE. It is resumable: what was committed stays counted, and a rerun starts
/// again from the lowest uncounted id.
public struct TokenBackfill: Sendable {
    let store: MessageStore
    let batchSize: Int

    public static let batchSizes = 1...100_000

    public init(pool: PostgresPool, batchSize: Int = 1000) {
        store = MessageStore(pool: pool)
        self.batchSize = batchSize
    }

    /// Where a run stands, after each batch.
    public struct Progress: Sendable, Equatable {
        /// Messages counted by this run so far.
        public var counted: Int
        /// Uncounted messages when the run began (more may be stored meanwhile).
        public var total: Int
        public var elapsed: Duration
    }

    /// How a run ended.
    public struct Summary: Sendable, Equatable {
        /// Messages this run counted.
        public var counted: Int
        /// Messages that were counted by someone else (or deleted) between a batch's read and
        /// its write.
        public var skipped: Int
        public var batches: Int
        /// UTF-8 bytes of content counted.
        public var bytes: Int
        public var elapsed: Duration
        /// True when `shouldStop` ended the run early; a rerun goes on from there.
        public var stopped: Bool
    }

    /// A batch is retried this many times when PostgreSQL aborts it as a deadlock or a
    /// serialization failure (a concurrent delete of the same rows).
    static let retries = 5

    /// Counts every uncounted message; `progress` is told after each batch, and `shouldStop` is
    /// asked before each (the batch in flight is finished first).
    public func run(
        shouldStop: @Sendable () -> Bool = { false }, progress: (Progress) -> Void = { _ in }
    ) async throws -> Summary {
        let clock = ContinuousClock()
        let start = clock.now
        let total = try await store.uncountedCount()
        var summary = Summary(counted: 0, skipped: 0, batches: 0, bytes: 0, elapsed: .zero, stopped: false)
        var after: UUID?
        progress(Progress(counted: 0, total: total, elapsed: .zero))
        while true {
            if shouldStop() || Task.isCancelled {
                summary.stopped = true
                break
            }
            let page = try await store.uncounted(after: after, limit: batchSize)
            guard let last = page.last else { break }
            let tokens = try await MessageTokens.count(page.map(\.content))
            let stored = try await retryingConflicts {
                try await store.setTokens(zip(page, tokens).map { (id: $0.id, tokens: $1) })
            }
            summary.counted += stored
            summary.skipped += page.count - stored
            summary.batches += 1
            summary.bytes += page.reduce(0) { $0 + $1.content.utf8.count }
            after = last.id
            progress(Progress(counted: summary.counted, total: max(total, summary.counted), elapsed: clock.now - start))
        }
        summary.elapsed = clock.now - start
        return summary
    }

    private func retryingConflicts<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as PostgresError where ["40P01", "40001"].contains(error.sqlState ?? "") && attempt < Self.retries {
                attempt += 1
                try await Task.sleep(for: .milliseconds(20 * attempt))
            }
        }
    }
}
