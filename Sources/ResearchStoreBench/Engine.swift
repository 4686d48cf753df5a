import ArgumentParser

/// Which engine drives the INSERT and SELECT measurements (issue 11 compares the two).
enum Engine: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// The wrapper's pool: each connection has its own thread, which runs the lease holder's work.
    case thread
    /// The benchmark-only epoll engine (`EventLoopEngine/`): non-blocking libpq, one loop thread.
    case eventLoop = "event-loop"
    /// The same engine, with the load tasks preferring the loop thread as their executor: the whole
    /// statement (lease, send, wait, decode) runs on that one thread, so resuming hops nowhere.
    case eventLoopPinned = "event-loop-pinned"

    var isEventLoop: Bool { self != .thread }
}
