import NIOPosix

/// Dedicated threads for blocking libpq calls, so they never run on Swift's cooperative pool.
///
/// Size it to the connection pool: every connection runs at most one blocking call at a time, so
/// `threads == maximum connections` means no call ever waits for a thread. Cancel requests
/// (`PQcancel` opens its own connection and blocks) run on a separate thread so they are never
/// stuck behind the very query they cancel.
public final class BlockingExecutor: Sendable {
    private let workers: NIOThreadPool
    private let canceller: NIOThreadPool

    /// Starts `threads` worker threads and one canceller thread.
    public init(threads: Int) {
        precondition(threads > 0, "a BlockingExecutor needs at least one thread")
        workers = NIOThreadPool(numberOfThreads: threads)
        canceller = NIOThreadPool(numberOfThreads: 1)
        workers.start()
        canceller.start()
    }

    /// Runs `body` on a worker thread and returns its result.
    ///
    /// Deliberately not cancellable: once submitted, `body` runs even if the task is cancelled, so a
    /// `ROLLBACK`, `COMMIT` or `PQfinish` is never skipped. Queries are cancelled with `PQcancel` instead.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            workers.submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: PostgresError(code: .executorShutDown))
                    return
                }
                continuation.resume(with: Result(catching: body))
            }
        }
    }

    /// Fires `body` on the canceller thread without waiting for it.
    func submitCancel(_ body: @escaping @Sendable () -> Void) {
        canceller.submit { state in
            if case .active = state { body() }
        }
    }

    /// Waits for running calls to end and stops the threads.
    public func shutdown() async {
        try? await workers.shutdownGracefully()
        try? await canceller.shutdownGracefully()
    }
}
