import CLibPQ
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection in non-blocking mode, driven by the task that uses it.
///
/// Every libpq call with the handle is made by the task running the connection's current
/// operation, on whatever thread that task runs: the calls never block (libpq is in
/// non-blocking mode), so they are fine on the cooperative pool. Where libpq would wait for the
/// server, the task awaits socket readiness from the shared `SocketReadinessLoop` instead.
/// Connecting and finishing, which block, run on the `BlockingExecutor`'s threads.
///
/// A connection serves one operation at a time: each public operation enters a busy flag, and
/// one that starts while another runs throws `concurrentUse` without touching libpq.
public final class PostgresConnection: @unchecked Sendable {
    // Safety of @unchecked Sendable: `handle`, `preparedStatements`, `isBroken`, `beginPending` and
    // `statementsAfter` (and every libpq call with `handle`) are touched only between `enter()`
    // and `leave()`, or in deinit, when nothing else holds the connection. `busy` admits one
    // holder at a time, and its acquiring exchange and releasing store order one holder's
    // accesses before the next one's; within one holder, a task's steps are ordered across its
    // suspensions. `cancellation` is behind a Mutex because a cancelling task and the canceller
    // thread touch it from other threads.
    private var handle: OpaquePointer?
    lazy var preparedStatements = PreparedStatementCache(limit: configuration.maximumPreparedStatements)
    /// Set when libpq was left in a state the wrapper cannot recover from (a COPY it did not ask for).
    var isBroken = false
    /// `withTransaction` began a transaction whose `BEGIN` is not sent yet: it travels with the
    /// first statement, in one round trip (see `sendingPending`).
    var beginPending = false
    /// Statements that `sendAfterNextStatements` queued: they travel behind the next round trip's
    /// statements, before its sync point (see `sendingPending`).
    var statementsAfter: [PostgresQuery] = []
    /// True while an operation runs (see `enter`).
    private let busy = Atomic<Bool>(false)
    let cancellation = Mutex(CancellationState())
    private let noticeReceiver: NoticeReceiver

    let executor: BlockingExecutor
    let loop: SocketReadinessLoop
    let registration: SocketRegistration
    let configuration: PostgresConfiguration
    /// The logger this connection reports notices and failures to.
    public let logger: Logger
    /// When the connection was opened, for the pool's maximum lifetime.
    public let openedAt: ContinuousClock.Instant

    private init(
        handle: OpaquePointer, registration: SocketRegistration, loop: SocketReadinessLoop,
        configuration: PostgresConfiguration, executor: BlockingExecutor, logger: Logger
    ) {
        self.handle = handle
        self.registration = registration
        self.loop = loop
        self.configuration = configuration
        self.executor = executor
        self.logger = logger
        self.openedAt = .now
        self.noticeReceiver = NoticeReceiver(logger: logger)
        PQsetNoticeReceiver(handle, noticeReceiverCallback, Unmanaged.passUnretained(noticeReceiver).toOpaque())
        let cancelHandle = PQgetCancel(handle).map { UnsafeHandle(pointer: $0) }
        cancellation.withLock { $0.cancelHandle = cancelHandle }
    }

    deinit {
        // A connection should be closed with `close()`; finish it here so nothing leaks if not.
        // No cancel request is in flight: the canceller holds a reference while it sends one.
        if let handle {
            loop.deregister(registration)
            freeCancelHandle()
            PQfinish(handle)
        }
    }

    /// Opens a connection (on a thread of the executor: `PQconnectdbParams` blocks), switches it
    /// to non-blocking mode and registers its socket with the readiness loop. On failure the
    /// half-open libpq connection is finished and a `connectionFailed` error says why (libpq's
    /// message names host, port and user, never the password).
    public static func connect(
        configuration: PostgresConfiguration, executor: BlockingExecutor, logger: Logger
    ) async throws -> PostgresConnection {
        let loop = try SocketReadinessLoop.shared.get()
        let parameters = configuration.connectParameters
        let handle = try await executor.run {
            let handle = try withCStringArrays(parameters) { keywords, values in
                guard let handle = PQconnectdbParams(keywords, values, 0) else {
                    throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
                }
                return UnsafeHandle(pointer: handle)
            }
            guard PQstatus(handle.pointer) == CONNECTION_OK, PQsetnonblocking(handle.pointer, 1) == 0 else {
                let message = String(cString: PQerrorMessage(handle.pointer)).trimmingTrailingNewlines()
                PQfinish(handle.pointer)
                throw PostgresError(code: .connectionFailed, message: message)
            }
            return handle
        }
        let registration: SocketRegistration
        do {
            registration = try loop.register(socket: PQsocket(handle.pointer))
        } catch {
            await Self.finish(handle, on: executor)
            throw error
        }
        return PostgresConnection(
            handle: handle.pointer, registration: registration, loop: loop, configuration: configuration,
            executor: executor, logger: logger)
    }

    /// Closes the connection. Safe to call twice. Waits for an operation still running (a
    /// misuse: its caller should have ended it first).
    public func close() async {
        while (try? enter("close")) == nil {
            if Task.isCancelled { await Task.yield() } else { try? await Task.sleep(for: .milliseconds(1)) }
        }
        defer { leave() }
        guard let handle else { return }
        self.handle = nil
        loop.deregister(registration)
        await waitForCancelRequestsInFlight()
        freeCancelHandle()
        await Self.finish(UnsafeHandle(pointer: handle), on: executor)
    }

    /// `PQfinish` (it sends Terminate and closes the socket) on a thread of the executor, which
    /// blocking calls own; if the executor has stopped, here: in non-blocking mode it never waits.
    private static func finish(_ handle: UnsafeHandle, on executor: BlockingExecutor) async {
        do {
            try await executor.run { PQfinish(handle.pointer) }
        } catch {
            PQfinish(handle.pointer)
        }
    }

    /// Frees the cancel handle; called when no cancel request can be in flight.
    private func freeCancelHandle() {
        let cancelHandle = cancellation.withLock { state in
            defer { state.cancelHandle = nil }
            return state.cancelHandle
        }
        if let cancelHandle { PQfreeCancel(cancelHandle.pointer) }
    }

    /// The handle, unless the connection is closed or broken.
    func liveHandle() throws -> OpaquePointer {
        guard let handle, !isBroken else { throw PostgresError(code: .connectionClosed, message: "the connection is closed") }
        return handle
    }

    // MARK: - Exclusivity

    /// Marks the connection busy for one operation, or throws `concurrentUse` if another runs.
    func enter(_ operation: StaticString) throws {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw PostgresError(
                code: .concurrentUse,
                message: "\(operation) called while another operation runs on this connection: a connection serves one task at a time")
        }
    }

    /// Ends the operation `enter` began.
    func leave() {
        busy.store(false, ordering: .releasing)
    }

    /// Runs `body` as one operation: between `enter` and `leave`.
    func exclusively<T>(_ operation: StaticString, _ body: () async throws -> T) async throws -> T {
        try enter(operation)
        defer { leave() }
        return try await body()
    }

    // MARK: - Health, for the pool

    /// True when the connection is open and no transaction is open or failed: safe to lend again.
    /// False while an operation runs on it.
    public var isReusable: Bool {
        guard (try? enter("isReusable")) != nil else { return false }
        defer { leave() }
        guard let handle, !isBroken else { return false }
        return PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// A non-blocking check of an idle connection: an idle connection has nothing to read, so
    /// readable input means the server said goodbye (restart, `pg_terminate_backend`) or the socket closed.
    /// False while an operation runs on it.
    public func looksAliveWhileIdle() -> Bool {
        guard (try? enter("looksAliveWhileIdle")) != nil else { return false }
        defer { leave() }
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, 0)
        return ready == 0
    }

    /// The value libpq uses for one connection option (`PQconninfo`), e.g. `keepalives_idle`.
    func libpqOption(_ keyword: String) -> String? {
        guard (try? enter("libpqOption")) != nil else { return nil }
        defer { leave() }
        guard let handle, let options = PQconninfo(handle) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let key = option.pointee.keyword {
            if String(cString: key) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }
}

/// An `OpaquePointer` carried across a thread boundary; only its owner uses it.
struct UnsafeHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Calls `body` with NULL-terminated C string arrays of the keywords and values.
func withCStringArrays<R>(
    _ pairs: [(keyword: String, value: String)],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) throws -> R
) rethrows -> R {
    let keywords = pairs.map { strdup($0.keyword) }
    let values = pairs.map { strdup($0.value) }
    defer {
        keywords.forEach { free($0) }
        values.forEach { free($0) }
    }
    let keywordPointers = keywords.map { UnsafePointer($0) } + [nil]
    let valuePointers = values.map { UnsafePointer($0) } + [nil]
    return try body(keywordPointers, valuePointers)
}
