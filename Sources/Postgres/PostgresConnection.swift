import CLibPQ
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection, driven by a thread of its own.
///
/// Every libpq call with the handle runs on the connection's `ConnectionThread`, never on the
/// cooperative pool and never on two threads at once (libpq forbids that). A caller whose task
/// prefers that thread as its executor (`taskExecutor`; the pool arranges it for each lease)
/// calls libpq directly; any other caller hops to the thread for the call.
public final class PostgresConnection: @unchecked Sendable {
    // Safety of @unchecked Sendable: `handle`, `preparedStatements`, `isBroken`, `beginPending` and
    // `statementsAfter` are touched only on `thread` (one thread, so one call at a time), or in
    // deinit and `close()`, when nothing else can call. `cancellation` is behind a Mutex because a
    // cancelling task touches it from another thread; `cancelSending` is held by the canceller
    // thread for the duration of one `PQcancel` (see `sendCancelRequest`).
    private var handle: OpaquePointer?
    lazy var preparedStatements = PreparedStatementCache(limit: configuration.maximumPreparedStatements)
    /// Set when libpq was left in a state the wrapper cannot recover from (a COPY it did not ask for).
    private var isBroken = false
    /// `withTransaction` began a transaction whose `BEGIN` is not sent yet: it travels with the
    /// first statement, in one round trip (see `sendingPending`).
    var beginPending = false
    /// Statements that `sendAfterNextStatements` queued: they travel behind the next round trip's
    /// statements, before its sync point (see `sendingPending`).
    var statementsAfter: [PostgresQuery] = []
    private let cancellation = Mutex(CancellationState())
    private let cancelSending = Mutex(())
    private let noticeReceiver: NoticeReceiver

    let executor: BlockingExecutor
    let thread: ConnectionThread
    let configuration: PostgresConfiguration
    /// The logger this connection reports notices and failures to.
    public let logger: Logger
    /// When the connection was opened, for the pool's maximum lifetime.
    public let openedAt: ContinuousClock.Instant

    struct CancellationState {
        var cancelHandle: UnsafeHandle?
        /// Counts `runCancellable` calls, so a cancel request belongs to exactly one statement.
        var generation: UInt64 = 0
        /// The statement of `generation` is running on the executor.
        var running = false
        /// The task of `generation` asked to cancel.
        var requested = false
    }

    private init(
        handle: OpaquePointer, configuration: PostgresConfiguration, executor: BlockingExecutor,
        thread: ConnectionThread, logger: Logger
    ) {
        self.handle = handle
        self.configuration = configuration
        self.executor = executor
        self.thread = thread
        self.logger = logger
        self.openedAt = .now
        self.noticeReceiver = NoticeReceiver(logger: logger)
        PQsetNoticeReceiver(handle, noticeReceiverCallback, Unmanaged.passUnretained(noticeReceiver).toOpaque())
        let cancelHandle = PQgetCancel(handle).map { UnsafeHandle(pointer: $0) }
        cancellation.withLock { $0.cancelHandle = cancelHandle }
    }

    deinit {
        // A connection should be closed with `close()`; finish it here so nothing leaks if not.
        if let handle { finish(handle) }
        let thread = self.thread
        Task { await thread.shutdown() }
    }

    /// The executor to prefer for a unit of work on this connection: its statements then call
    /// libpq directly instead of hopping to the connection's thread and back for each one.
    public var taskExecutor: any TaskExecutor { thread }

    /// Opens a connection. On failure the half-open libpq connection is finished and a
    /// `connectionFailed` error says why (libpq's message names host, port and user, never the password).
    public static func connect(
        configuration: PostgresConfiguration, executor: BlockingExecutor, logger: Logger
    ) async throws -> PostgresConnection {
        let parameters = configuration.connectParameters
        let thread = ConnectionThread()
        do {
            return try await connect(parameters, configuration: configuration, executor: executor, thread: thread, logger: logger)
        } catch {
            await thread.shutdown()
            throw error
        }
    }

    private static func connect(
        _ parameters: [(keyword: String, value: String)], configuration: PostgresConfiguration,
        executor: BlockingExecutor, thread: ConnectionThread, logger: Logger
    ) async throws -> PostgresConnection {
        try await thread.run {
            let handle = try withCStringArrays(parameters) { keywords, values in
                guard let handle = PQconnectdbParams(keywords, values, 0) else {
                    throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
                }
                return UnsafeHandle(pointer: handle)
            }
            guard PQstatus(handle.pointer) == CONNECTION_OK else {
                let message = String(cString: PQerrorMessage(handle.pointer)).trimmingTrailingNewlines()
                PQfinish(handle.pointer)
                throw PostgresError(code: .connectionFailed, message: message)
            }
            return PostgresConnection(
                handle: handle.pointer, configuration: configuration, executor: executor, thread: thread, logger: logger)
        }
    }

    /// Closes the connection and stops its thread. Safe to call twice.
    public func close() async {
        // PQfinish sends Terminate, which may block: on the connection's thread, like every call.
        _ = try? await thread.run {
            guard let handle = self.handle else { return }
            self.handle = nil
            self.finish(handle)
        }
        await thread.shutdown()
    }

    /// Frees the cancel handle, then the connection. Taking `cancelSending` first waits for a
    /// `PQcancel` in flight on the canceller thread, so the handle is never freed under it.
    private func finish(_ handle: OpaquePointer) {
        cancelSending.withLock { _ in
            cancellation.withLock { state in
                if let cancelHandle = state.cancelHandle { PQfreeCancel(cancelHandle.pointer) }
                state.cancelHandle = nil
            }
        }
        PQfinish(handle)
    }

    // MARK: - Health, for the pool

    /// True when the connection is open and no transaction is open or failed: safe to lend again.
    public var isReusable: Bool {
        guard let handle, !isBroken else { return false }
        return PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// A non-blocking check of an idle connection: an idle connection has nothing to read, so
    /// readable input means the server said goodbye (restart, `pg_terminate_backend`) or the socket closed.
    public func looksAliveWhileIdle() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, 0)
        return ready == 0
    }

    /// The value libpq uses for one connection option (`PQconninfo`), e.g. `keepalives_idle`.
    func libpqOption(_ keyword: String) -> String? {
        guard let handle, let options = PQconninfo(handle) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let key = option.pointee.keyword {
            if String(cString: key) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }

    // MARK: - Queries

    /// Runs one statement and returns its rows. Returns only after PostgreSQL's ReadyForQuery,
    /// so an implicit transaction has committed when this returns.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await runCancellable { try self.blockingQuery(query) }
    }

    /// Runs a statement that must not be interrupted by task cancellation (`COMMIT`, `ROLLBACK`).
    func queryIgnoringCancellation(_ query: PostgresQuery) async throws -> PostgresRows {
        try await thread.run { try self.blockingQuery(query) }
    }

    func blockingQuery(_ query: PostgresQuery) throws -> PostgresRows {
        try query.bindings.checkEncoded()
        let handle = try liveHandle()
        if hasPending { return try sendingPending([query])[0] }
        guard configuration.usePreparedStatements else {
            return try consume(
                query.bindings.withCArrays { count, types, values, lengths, formats in
                    PQexecParams(handle, query.sql, count, types, values, lengths, formats, 1)
                }, handle: handle)
        }
        do {
            return try executePrepared(query, handle: handle)
        } catch let error as PostgresError where error.sqlState == "0A000" {
            // "cached plan must not change result type": a schema change altered what the statement
            // returns. Prepare it afresh and run it once more, unless it aborted a transaction.
            preparedStatements.forget(PreparedStatementCache.key(for: query))
            guard PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            return try executePrepared(query, handle: handle)
        }
    }

    private func executePrepared(_ query: PostgresQuery, handle: OpaquePointer) throws -> PostgresRows {
        let name = try preparedStatementName(for: query, handle: handle)
        return try consume(
            query.bindings.withCArrays { count, _, values, lengths, formats in
                PQexecPrepared(handle, name, count, values, lengths, formats, 1)
            }, handle: handle)
    }

    private func preparedStatementName(for query: PostgresQuery, handle: OpaquePointer) throws -> String {
        let key = PreparedStatementCache.key(for: query)
        if let name = preparedStatements.name(for: key) { return name }
        let name = preparedStatements.nextName()
        _ = try consume(
            query.bindings.withCArrays { count, types, _, _, _ in
                PQprepare(handle, name, query.sql, count, types)
            }, handle: handle)
        preparedStatements.insert(key, name: name)
        deallocateStale(handle: handle)
        return name
    }

    /// Deallocates the statements the cache evicted or forgot, unless a failed transaction
    /// refuses every command (then they wait for the next prepare).
    func deallocateStale(handle: OpaquePointer) {
        guard PQtransactionStatus(handle) != PQTRANS_INERROR else { return }
        for name in preparedStatements.stale {
            _ = try? consume(PQexec(handle, "DEALLOCATE \(name)"), handle: handle)
        }
        preparedStatements.clearStale()
    }

    func liveHandle() throws -> OpaquePointer {
        guard let handle, !isBroken else { throw PostgresError(code: .connectionClosed, message: "the connection is closed") }
        return handle
    }

    /// Turns a finished `PGresult` into rows or an error, clearing it exactly once.
    func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws -> PostgresRows {
        guard let result else { throw connectionError(handle) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(copying: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy(status: PQresultStatus(result), handle: handle)
            throw PostgresError(code: .protocolViolation, message: "COPY is only supported through copyFrom")
        default:
            throw error(from: result, handle: handle)
        }
    }

    /// Leaves a COPY that `query` started: `FROM STDIN` is ended with an error (the server rolls it
    /// back), `TO STDOUT` is read to its end and dropped. Either way the connection is usable again;
    /// anything else (`COPY_BOTH`, a broken stream) marks it broken so the pool discards it.
    /// (`PQgetResult` keeps returning the COPY result while a COPY is in progress, so merely
    /// draining results would never end.)
    private func abandonCopy(status: ExecStatusType, handle: OpaquePointer) {
        switch status {
        case PGRES_COPY_IN:
            guard PQputCopyEnd(handle, "COPY is only supported through copyFrom") == 1 else {
                isBroken = true
                return
            }
        case PGRES_COPY_OUT:
            var row: UnsafeMutablePointer<CChar>?
            var length = PQgetCopyData(handle, &row, 0)
            while length >= 0 {
                if let row { PQfreemem(row) }
                row = nil
                length = PQgetCopyData(handle, &row, 0)
            }
            guard length == -1 else {
                isBroken = true
                return
            }
        default:
            isBroken = true
            return
        }
        while let extra = PQgetResult(handle) {
            let status = PQresultStatus(extra)
            PQclear(extra)
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
                isBroken = true
                return
            }
        }
    }

    /// The error a failed result describes, classified as a broken connection when libpq says so.
    func error(from result: OpaquePointer, handle: OpaquePointer) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
        }
        let broken = PQstatus(handle) != CONNECTION_OK
        var error = PostgresError(code: broken ? .connectionClosed : .server)
        error.sqlState = field(UInt8(ascii: "C"))
        error.severity = field(UInt8(ascii: "V")) ?? field(UInt8(ascii: "S"))
        error.message = field(UInt8(ascii: "M"))
            ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines()
        error.detail = field(UInt8(ascii: "D"))
        error.hint = field(UInt8(ascii: "H"))
        error.constraint = field(UInt8(ascii: "n"))
        error.table = field(UInt8(ascii: "t"))
        error.column = field(UInt8(ascii: "c"))
        return error
    }

    func connectionError(_ handle: OpaquePointer) -> PostgresError {
        let message = String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines()
        return PostgresError(code: PQstatus(handle) == CONNECTION_OK ? .protocolViolation : .connectionClosed, message: message)
    }

    // MARK: - Cancellation

    /// Runs `body` on the connection's thread (directly when already there); cancelling the task
    /// sends `PQcancel` for the running statement.
    /// A statement that PostgreSQL cancelled because we asked (SQLSTATE 57014) throws
    /// `CancellationError`; one cancelled by `statement_timeout` stays a `PostgresError`.
    ///
    /// Each call is one generation. A cancel request carries its generation and is sent only while
    /// that same generation runs, so a request queued behind the canceller thread never reaches a
    /// later statement — e.g. another caller's after the connection went back to the pool.
    func runCancellable<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let generation = cancellation.withLock { state -> UInt64 in
            state.generation &+= 1
            state.requested = false
            return state.generation
        }
        return try await withTaskCancellationHandler {
            try await thread.run {
                let mayRun = self.cancellation.withLock { state -> Bool in
                    guard !state.requested else { return false }
                    state.running = true
                    return true
                }
                guard mayRun else { throw CancellationError() }
                let started = ContinuousClock.now
                let outcome = Result { try body() }
                if let observer = self.configuration.observer {
                    if case .failure(let error) = outcome { observer(.now - started, error as? PostgresError) } else { observer(.now - started, nil) }
                }
                let wasCancelled = self.cancellation.withLock { state -> Bool in
                    state.running = false
                    return state.requested
                }
                // A cancel request that saw this statement running may still be on its way: wait for
                // it, so its signal reaches the server before the connection can run anything else
                // (a backend ignores a cancel that arrives while it waits for the next command).
                self.cancelSending.withLock { _ in }
                if wasCancelled, case .failure(let error as PostgresError) = outcome, error.sqlState == "57014" {
                    throw CancellationError()
                }
                return try outcome.get()
            }
        } onCancel: {
            let sendCancel = self.cancellation.withLock { state -> Bool in
                guard state.generation == generation else { return false }
                state.requested = true
                return state.running
            }
            if sendCancel { self.executor.submitCancel { self.sendCancelRequest(generation: generation) } }
        }
    }

    /// True once the running call's task asked to cancel; long loops (COPY) poll it.
    var isCancellationRequested: Bool { cancellation.withLock { $0.requested } }

    /// How many calls hopped to the connection's thread rather than running on it (for tests).
    var threadHops: Int { thread.hops }

    /// The generation of the latest `runCancellable` call (for tests).
    var statementGeneration: UInt64 { cancellation.withLock { $0.generation } }

    /// Sends `PQcancel` if the statement of `generation` is still running; returns whether it did.
    ///
    /// Runs on the canceller thread. The network call happens outside `cancellation` (a cancelling
    /// task or the statement's own thread never wait behind it) but inside `cancelSending`, which
    /// `finish()` takes before freeing the cancel handle and a statement takes before it ends.
    @discardableResult
    func sendCancelRequest(generation: UInt64) -> Bool {
        cancelSending.withLock { _ -> Bool in
            let cancelHandle = cancellation.withLock { state -> UnsafeHandle? in
                guard state.running, state.generation == generation else { return nil }
                return state.cancelHandle
            }
            guard let cancelHandle else { return false }
            var buffer = [CChar](repeating: 0, count: 256)
            if PQcancel(cancelHandle.pointer, &buffer, Int32(buffer.count)) == 0 {
                let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                logger.warning("cancel request failed", metadata: ["db.cancel.error": "\(reason)"])
            }
            return true
        }
    }
}

/// An `OpaquePointer` carried across the executor boundary; only its owner uses it.
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
