import Foundation
import Synchronization

/// Group commit for `POST /db/messages/store`: concurrent single stores (any sessions, any
/// callers) are written by one statement, so one commit (one WAL flush) acknowledges many
/// requests, each only after that commit.
///
/// No timer: an append starts a flush at once while fewer than `maximumFlushes` run; otherwise
/// it waits in the queue, and a flush that finishes takes what is queued (up to `maximumBatch`)
/// straight away. A lone request waits for nothing; under load, batches grow by themselves.
public final class MessageAppendBatcher: Sendable {
    /// How many flushes may run at once, and how many appends one flush takes at most.
    public struct Limits: Sendable {
        public var maximumFlushes: Int
        public var maximumBatch: Int

        public init(maximumFlushes: Int = 2, maximumBatch: Int = 256) {
            precondition(maximumFlushes >= 1 && maximumBatch >= 1)
            self.maximumFlushes = maximumFlushes
            self.maximumBatch = maximumBatch
        }
    }

    /// What the batcher has done (`flushes`, `messages`) and is doing (`queued`, `flushing`).
    public struct Statistics: Sendable, Equatable {
        /// Flushes finished (committed or failed), and the appends they carried.
        public var flushes = 0
        public var messages = 0
        /// Appends waiting for a flush, and flushes running now.
        public var queued = 0
        public var flushing = 0
    }

    /// Writes a group; one outcome per append, in order. Never throws: a failure is an outcome.
    typealias Write = @Sendable ([MessageAppend]) async -> [Result<Message, any Error>]

    private struct Waiter {
        var append: MessageAppend
        var continuation: CheckedContinuation<Message, any Error>
    }

    private struct State {
        var queue: [Waiter] = []
        var statistics = Statistics()
    }

    let limits: Limits
    private let write: Write
    private let flushed: @Sendable (Int) -> Void
    private let state = Mutex(State())

    /// `flushed` is told the size of every finished flush (for metrics).
    init(limits: Limits, flushed: @escaping @Sendable (Int) -> Void = { _ in }, write: @escaping Write) {
        self.limits = limits
        self.flushed = flushed
        self.write = write
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.queue.count
            return statistics
        }
    }

    /// Stores `append` with the next group and returns it as stored. A task cancelled while its
    /// append is still queued gets `CancellationError`; once its flush started, it commits anyway.
    func append(_ append: MessageAppend) async throws -> Message {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enqueue(Waiter(append: append, continuation: continuation))
            }
        } onCancel: {
            let removed = state.withLock { state in
                state.queue.firstIndex { $0.append.message.id == append.message.id }.map { state.queue.remove(at: $0) }
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
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
            let outcomes = await write(batch.map(\.append))
            precondition(outcomes.count == batch.count, "a write answers every append")
            state.withLock { state in
                state.statistics.flushes += 1
                state.statistics.messages += batch.count
            }
            flushed(batch.count)
            for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(with: outcome) }
        }
    }

    /// The oldest queued appends, up to `maximumBatch`; nil (and this flush ends) when none wait.
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
