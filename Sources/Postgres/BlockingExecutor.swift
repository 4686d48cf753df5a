import NIOPosix

/// The threads for libpq's blocking calls, shared by the connections of a pool: connecting
/// (`PQconnectdbParams`), finishing (`PQfinish`) and cancel requests (`PQcancel`).
///
/// None of them may run on Swift's cooperative pool. Cancel requests have a thread of their own,
/// so one never waits behind a connection attempt (which may take `connect_timeout`).
public final class BlockingExecutor: Sendable {
    private let canceller = NIOThreadPool(numberOfThreads: 1)
    /// A few threads, so a slow connection attempt does not hold up the others.
    private let connector = NIOThreadPool(numberOfThreads: 4)

    /// Starts the threads.
    public init() {
        canceller.start()
        connector.start()
    }

    /// Fires `body` on the canceller thread without waiting for it.
    func submitCancel(_ body: @escaping @Sendable () -> Void) {
        canceller.submit { state in
            if case .active = state { body() }
        }
    }

    /// Runs the blocking `body` on a connector thread and returns its result; throws
    /// `executorShutDown` once `shutdown()` began. Not interrupted by task cancellation.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            connector.submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: PostgresError(code: .executorShutDown))
                    return
                }
                continuation.resume(with: Result(catching: body))
            }
        }
    }

    /// Waits for running work to end and stops the threads.
    public func shutdown() async {
        try? await canceller.shutdownGracefully()
        try? await connector.shutdownGracefully()
    }
}
