import ArgumentParser

/// Which engine drives the INSERT and SELECT measurements (issue 11 compares the two).
enum Engine: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// The wrapper's pool: non-blocking libpq driven by the lease holder's task, socket readiness
    /// from the wrapper's shared epoll thread.
    case wrapper
    /// The benchmark-only epoll engine (`EventLoopEngine/`): non-blocking libpq, one loop thread.
    case eventLoop = "event-loop"
    /// The same engine, with the load tasks preferring the loop thread as their executor: the whole
    /// statement (lease, send, wait, decode) runs on that one thread, so resuming hops nowhere.
    case eventLoopPinned = "event-loop-pinned"

    var isEventLoop: Bool { self != .wrapper }
}
