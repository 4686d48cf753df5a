import NIOPosix

/// The thread for cancel requests, shared by the connections of a pool.
///
/// `PQcancel` opens a connection of its own and blocks until the server has the request, so it
/// never runs on Swift's cooperative pool, nor on the connection's own thread, where the very
/// statement it cancels is running.
public final class BlockingExecutor: Sendable {
    private let canceller = NIOThreadPool(numberOfThreads: 1)

    /// Starts the canceller thread.
    public init() {
        canceller.start()
    }

    /// Fires `body` on the canceller thread without waiting for it.
    func submitCancel(_ body: @escaping @Sendable () -> Void) {
        canceller.submit { state in
            if case .active = state { body() }
        }
    }

    /// Waits for a running cancel request to end and stops the thread.
    public func shutdown() async {
        try? await canceller.shutdownGracefully()
    }
}
