import FoundationEssentials
import Postgres
import PostgresPool
import Synchronization

/// How many flushes of a `GroupCommit` may run at once, and how many items one flush takes at most.
public struct GroupCommitLimits: Sendable {
    public var maximumFlushes: Int
    public var maximumBatch: Int

    public init(maximumFlushes: Int = 2, maximumBatch: Int = 256) {
        precondition(maximumFlushes >= 1 && maximumBatch >= 1)
        self.maximumFlushes = maximumFlushes
        self.maximumBatch = maximumBatch
    }
}

/// What a `GroupCommit` has done (`flushes`, `items` written) and is doing (`queued`, `flushing`).
public struct GroupCommitStatistics: Sendable, Equatable {
    /// Flushes finished (committed or failed), and the items they carried.
    public var flushes = 0
    public var items = 0
    /// Items waiting for a flush, and flushes running now.
    public var queued = 0
    public var flushing = 0
}

/// Group commit: concurrent single writes (message stores, session creates) are written by one
/// statement, so one commit (one WAL flush) acknowledges many requests, each only after that commit.
///
/// No timer: a write starts a flush at once while fewer than `maximumFlushes` run; otherwise
/// it waits in the queue, and a flush that finishes takes what is queued (up to `maximumBatch`)
/// straight away. A lone request waits for nothing (it even writes itself, on its own task);
/// under load, batches grow by themselves.
final class GroupCommit<Item: Sendable & Identifiable, Output: Sendable>: Sendable {
    typealias Limits = GroupCommitLimits
    typealias Statistics = GroupCommitStatistics

    /// Writes a group; one outcome per item, in order. Never throws: a failure is an outcome.
    typealias Write = @Sendable ([Item]) async -> [Result<Output, any Error>]

    private struct Waiter {
        var item: Item
        var continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var queue: [Waiter] = []
        var statistics = Statistics()
    }

    let limits: Limits
    private let writeGroup: Write
    private let flushed: @Sendable (Int) -> Void
    private let state = Mutex(State())

    /// `flushed` is told the size of every finished flush (for metrics).
    init(limits: Limits, flushed: @escaping @Sendable (Int) -> Void = { _ in }, write: @escaping Write) {
        self.limits = limits
        self.flushed = flushed
        self.writeGroup = write
    }

    var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.queue.count
            return statistics
        }
    }

    /// Writes `item` with the next group and returns what the write made of it. A task cancelled
    /// while its item is still queued gets `CancellationError`; once its flush started, it commits anyway.
    func write(_ item: Item) async throws -> Output {
        if let outcome = try await writeAloneWhenIdle(item) { return try outcome.get() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enqueue(Waiter(item: item, continuation: continuation))
            }
        } onCancel: {
            let removed = state.withLock { state in
                state.queue.firstIndex { $0.item.id == item.id }.map { state.queue.remove(at: $0) }
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    /// With nothing queued and no flush running, the item is written by the caller's own task:
    /// handing it to a flush task and back would cost a lone request two thread hops, most of its
    /// overhead at low concurrency. Writes that arrive meanwhile start flushes of their own (or
    /// queue); what queued is handed to a flush when this write ends. Nil when not idle, or
    /// inside a shared transaction, whose connection a group must never join.
    private func writeAloneWhenIdle(_ item: Item) async throws -> Result<Output, any Error>? {
        guard !PostgresPool.sharedTransactionIsActive else { return nil }
        try Task.checkCancellation()
        let idle = state.withLock { state in
            guard state.queue.isEmpty, state.statistics.flushing == 0 else { return false }
            state.statistics.flushing += 1
            return true
        }
        guard idle else { return nil }
        let outcomes = await writeGroup([item])
        precondition(outcomes.count == 1, "a write answers every item")
        let queuedMeanwhile = state.withLock { state in
            state.statistics.flushes += 1
            state.statistics.items += 1
            guard !state.queue.isEmpty else {
                state.statistics.flushing -= 1
                return false
            }
            return true  // this flush's slot goes to a flush of what queued
        }
        flushed(1)
        if queuedMeanwhile { Task.detached { await self.flushWhileQueued() } }
        return outcomes[0]
    }

    private func enqueue(_ waiter: Waiter) {
        // Checked under the lock: a cancellation handler that ran before this found nothing to remove.
        let startsFlush: Bool? = state.withLock { state in
            if Task.isCancelled { return nil }
            state.queue.append(waiter)
            guard state.statistics.flushing < limits.maximumFlushes else { return false }
            state.statistics.flushing += 1
            return true
        }
        switch startsFlush {
        case nil: waiter.continuation.resume(throwing: CancellationError())
        case true?:
            // Detached: the flush serves many requests, so it inherits none's task-locals (a
            // shared transaction, above all) and no request's cancellation reaches it.
            Task.detached { await self.flushWhileQueued() }
        case false?: break
        }
    }

    private func flushWhileQueued() async {
        while let batch = takeBatch() {
            let outcomes = await writeGroup(batch.map(\.item))
            precondition(outcomes.count == batch.count, "a write answers every item")
            state.withLock { state in
                state.statistics.flushes += 1
                state.statistics.items += batch.count
            }
            flushed(batch.count)
            for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(with: outcome) }
        }
    }

    /// The oldest queued items, up to `maximumBatch`; nil (and this flush ends) when none wait.
    private func takeBatch() -> [Waiter]? {
        state.withLock { state in
            guard !state.queue.isEmpty else {
                state.statistics.flushing -= 1
                return nil
            }
            let batch = Array(state.queue.prefix(limits.maximumBatch))
            state.queue.removeFirst(batch.count)
            return batch
        }
    }
}

/// Writes a group with `write` (one statement, retried whole by `database` after a deadlock).
/// When that fails for one item's data (a CHECK backstop, a value PostgreSQL cannot hold),
/// nothing was written and each item is written alone, so only the bad one fails; any other
/// failure (the database unavailable) is every item's.
func writeGroup<Item, Output>(
    _ items: [Item], _ write: ([Item]) async throws -> [Result<Output, any Error>]
) async -> [Result<Output, any Error>] {
    do {
        return try await write(items)
    } catch let error where items.count > 1 && failedForItsData(error) {
        var outcomes: [Result<Output, any Error>] = []
        for item in items { outcomes += await writeGroup([item], write) }
        return outcomes
    } catch {
        return Array(repeating: .failure(error), count: items.count)
    }
}

/// True when a group's statement failed for its data, so it wrote nothing: a mapped `422`,
/// `404` or `409`, or an error PostgreSQL answered that is not the database's moment.
private func failedForItsData(_ error: any Error) -> Bool {
    switch error {
    case let error as ServiceError: [.invalid, .notFound, .conflict].contains(error.kind)
    case let error as PostgresError: error.code == .server && !error.isTransient
    default: false
    }
}
