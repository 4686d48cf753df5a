#if canImport(Glibc)
import Synchronization

/// The engine's connections: a stack of idle ones and a FIFO of tasks waiting for one, under one Mutex.
///
/// A released connection goes straight to the longest waiter, so nobody overtakes a waiting task.
/// Waiting is not cancellable: in these runs there are as many connections as tasks, so nobody waits.
final class FairConnectionPool: Sendable {
    private struct State {
        var idle: [LoopConnection]
        var waiters: [UnsafeContinuation<LoopConnection, Never>] = []
        var waits = 0
    }

    private let state: Mutex<State>

    init(_ connections: [LoopConnection]) {
        state = Mutex(State(idle: connections))
    }

    /// Leases that had to wait so far.
    var waits: Int { state.withLock { $0.waits } }

    func lease() async -> LoopConnection {
        if let idle = state.withLock({ $0.idle.popLast() }) { return idle }
        return await withUnsafeContinuation { continuation in
            let idle = state.withLock { state -> LoopConnection? in
                if let idle = state.idle.popLast() { return idle }
                state.waiters.append(continuation)
                state.waits += 1
                return nil
            }
            if let idle { continuation.resume(returning: idle) }
        }
    }

    func release(_ connection: LoopConnection) {
        let waiter = state.withLock { state -> UnsafeContinuation<LoopConnection, Never>? in
            if state.waiters.isEmpty {
                state.idle.append(connection)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: connection)
    }
}
#endif
