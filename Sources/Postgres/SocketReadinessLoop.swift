import CSystemEvents
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a socket is ready for.
struct SocketReadiness: OptionSet, Sendable {
    let rawValue: Int32
    static let readable = SocketReadiness(rawValue: CSE_READABLE)
    static let writable = SocketReadiness(rawValue: CSE_WRITABLE)
    /// An error or hang-up; reported with both readable and writable, so any waiter wakes.
    static let failed = SocketReadiness(rawValue: CSE_FAILED)
}

/// A socket added to a `SocketReadinessLoop`, named by a token that is never reused (a closed
/// descriptor's number may be, so a late event for an old socket finds nobody).
struct SocketRegistration: Sendable {
    let socket: Int32
    let token: UInt64
}

/// One thread blocked in `epoll_wait` that reports socket readiness by resuming the task
/// waiting for it. It makes no libpq calls: the resumed task does, on whatever thread it runs.
///
/// Registrations are one-shot: a reported event disarms the socket until the next `wait`
/// re-arms it (`epoll_ctl(MOD)`), so nothing is reported that nobody waits for. A wait may
/// still wake without the readiness it asked for (an event armed by an earlier, cancelled
/// wait): callers re-check their condition and wait again.
final class SocketReadinessLoop: Sendable {
    private let epoll: Int32
    /// A byte written here stops the thread.
    private let wakePipe: (read: Int32, write: Int32)
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let state = Mutex(State())
    private static let stopToken: UInt64 = 0

    private struct State {
        var nextToken: UInt64 = 1
        /// Registered sockets by token, with the continuation of the task waiting, if one does.
        var waiters: [UInt64: UnsafeContinuation<SocketReadiness, any Error>?] = [:]
        var stopped = false
    }

    /// The process-wide loop, started on first use; or why it could not start.
    static let shared = Result { try SocketReadinessLoop() }

    init() throws {
        let epoll = cse_epoll_create()
        guard epoll >= 0 else { throw Self.failure("epoll_create1", errno: -epoll) }
        var readEnd: Int32 = -1
        var writeEnd: Int32 = -1
        let status = cse_make_pipe(&readEnd, &writeEnd)
        guard status == 0 else {
            close(epoll)
            throw Self.failure("pipe2", errno: status)
        }
        let added = cse_epoll_add_readable(epoll, readEnd, Self.stopToken)
        guard added == 0 else {
            for descriptor in [epoll, readEnd, writeEnd] { close(descriptor) }
            throw Self.failure("epoll_ctl(ADD) of the wake pipe", errno: added)
        }
        self.epoll = epoll
        self.wakePipe = (readEnd, writeEnd)
        thread.start()
        thread.submit { [self] _ in run() }
    }

    /// Adds `socket`, disarmed.
    func register(socket: Int32) throws -> SocketRegistration {
        let token = state.withLock { state -> UInt64? in
            guard !state.stopped else { return nil }
            defer { state.nextToken += 1 }
            state.waiters[state.nextToken] = .some(nil)
            return state.nextToken
        }
        guard let token else { throw PostgresError(code: .connectionClosed, message: "the readiness loop has stopped") }
        let status = cse_epoll_add_disarmed(epoll, socket, token)
        guard status == 0 else {
            _ = state.withLock { $0.waiters.removeValue(forKey: token) }
            throw Self.failure("epoll_ctl(ADD)", errno: status)
        }
        return SocketRegistration(socket: socket, token: token)
    }

    /// Removes the socket before it is closed. A task still waiting on it (never the case for
    /// a connection, whose operations have ended) is resumed with `connectionClosed`.
    func deregister(_ registration: SocketRegistration) {
        _ = cse_epoll_remove(epoll, registration.socket)
        let waiter = state.withLock { $0.waiters.removeValue(forKey: registration.token) }
        if case .some(.some(let waiter)) = waiter {
            waiter.resume(throwing: PostgresError(code: .connectionClosed, message: "the socket was closed"))
        }
    }

    /// Waits until the socket is ready for one of `interest`, and returns what it is ready for.
    /// Not interrupted by task cancellation: a statement in flight waits for the server's answer.
    func wait(_ registration: SocketRegistration, for interest: SocketReadiness) async throws -> SocketReadiness {
        try await withUnsafeThrowingContinuation { continuation in
            arm(registration, for: interest, continuation, checkingCancellation: false)
        }
    }

    /// Like `wait`, but task cancellation ends the wait with `CancellationError`. The socket may
    /// stay armed; its event then finds nobody and is dropped.
    func cancellableWait(_ registration: SocketRegistration, for interest: SocketReadiness) async throws
        -> SocketReadiness
    {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                arm(registration, for: interest, continuation, checkingCancellation: true)
            }
        } onCancel: {
            takeWaiter(registration.token)?.resume(throwing: CancellationError())
        }
    }

    /// Stores the continuation, then arms the socket. Whoever takes the continuation out of
    /// `waiters` (the loop thread, a cancellation, a failure here) is the only one to resume it.
    private func arm(
        _ registration: SocketRegistration, for interest: SocketReadiness,
        _ continuation: UnsafeContinuation<SocketReadiness, any Error>, checkingCancellation: Bool
    ) {
        let refusal = state.withLock { state -> PostgresError? in
            switch state.waiters[registration.token] {
            case .some(.none):
                state.waiters[registration.token] = continuation
                return nil
            case .some(.some):
                return PostgresError(code: .protocolViolation, message: "a second wait on one socket")
            case .none:
                let reason = state.stopped ? "the readiness loop has stopped" : "the socket was closed"
                return PostgresError(code: .connectionClosed, message: reason)
            }
        }
        if let refusal {
            continuation.resume(throwing: refusal)
            return
        }
        // A cancellation handler that ran before the store found nothing to resume: look again.
        if checkingCancellation, Task.isCancelled {
            takeWaiter(registration.token)?.resume(throwing: CancellationError())
            return
        }
        let status = cse_epoll_arm(epoll, registration.socket, registration.token, interest.rawValue)
        if status != 0 {
            takeWaiter(registration.token)?.resume(throwing: Self.failure("epoll_ctl(MOD)", errno: status))
        }
    }

    private func takeWaiter(_ token: UInt64) -> UnsafeContinuation<SocketReadiness, any Error>? {
        state.withLock { state in
            guard case .some(.some(let continuation)) = state.waiters[token] else { return nil }
            state.waiters[token] = .some(nil)
            return continuation
        }
    }

    /// Stops the thread (a private loop of a test; the shared one runs until the process exits)
    /// and fails every wait in progress with `connectionClosed`.
    func stop() async {
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        try? await thread.shutdownGracefully()
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.compactMap { $0 }
        }
        for waiter in waiters { waiter.resume(throwing: PostgresError(code: .connectionClosed, message: "the readiness loop has stopped")) }
        for descriptor in [epoll, wakePipe.read, wakePipe.write] { close(descriptor) }
    }

    private func run() {
        let capacity = 64
        var tokens = [UInt64](repeating: 0, count: capacity)
        var readiness = [Int32](repeating: 0, count: capacity)
        while true {
            let count = cse_epoll_wait(epoll, &tokens, &readiness, Int32(capacity), -1)
            if count < 0 {
                guard -count == EINTR else { fatalError("epoll_wait failed: errno \(-count)") }
                continue
            }
            for index in 0..<Int(count) {
                if tokens[index] == Self.stopToken { return }
                takeWaiter(tokens[index])?.resume(returning: SocketReadiness(rawValue: readiness[index]))
            }
        }
    }

    private static func failure(_ call: String, errno: Int32) -> PostgresError {
        PostgresError(code: .connectionFailed, message: "\(call) failed: errno \(errno)")
    }
}
