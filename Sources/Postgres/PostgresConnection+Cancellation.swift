import CLibPQ

extension PostgresConnection {
    struct CancellationState {
        var cancelHandle: UnsafeHandle?
        /// Counts `runCancellable` calls, so a cancel request belongs to exactly one statement.
        var generation: UInt64 = 0
        /// The statement of `generation` is running.
        var running = false
        /// The task of `generation` asked to cancel.
        var requested = false
        /// `PQcancel` calls under way (on the canceller thread, or a test's).
        var requestsInFlight = 0
        /// Tasks waiting for `requestsInFlight` to drop to zero.
        var inFlightWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Runs `body` (the caller has entered the connection); cancelling the task sends `PQcancel`
    /// for the running statement, and `body` goes on waiting for the server's answer.
    /// A statement that PostgreSQL cancelled because we asked (SQLSTATE 57014) throws
    /// `CancellationError`; one cancelled by `statement_timeout` stays a `PostgresError`.
    ///
    /// Each call is one generation. A cancel request carries its generation and is sent only while
    /// that same generation runs, so a request queued behind the canceller thread never reaches a
    /// later statement — e.g. another caller's after the connection went back to the pool.
    func runCancellable<T>(_ body: () async throws -> T) async throws -> T {
        let generation = cancellation.withLock { state -> UInt64 in
            state.generation &+= 1
            state.requested = false
            return state.generation
        }
        return try await withTaskCancellationHandler {
            let mayRun = cancellation.withLock { state -> Bool in
                guard !state.requested else { return false }
                state.running = true
                return true
            }
            guard mayRun else { throw CancellationError() }
            let started = ContinuousClock.now
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body())
            } catch {
                outcome = .failure(error)
            }
            if let observer = configuration.observer {
                if case .failure(let error) = outcome { observer(.now - started, error as? PostgresError) } else { observer(.now - started, nil) }
            }
            let (wasCancelled, inFlight) = cancellation.withLock { state -> (Bool, Bool) in
                state.running = false
                return (state.requested, state.requestsInFlight > 0)
            }
            // A cancel request that saw this statement running may still be on its way: wait for
            // it, so its signal reaches the server before the connection can run anything else
            // (a backend ignores a cancel that arrives while it waits for the next command).
            if inFlight { await waitForCancelRequestsInFlight() }
            if wasCancelled, case .failure(let error as PostgresError) = outcome, error.sqlState == "57014" {
                throw CancellationError()
            }
            return try outcome.get()
        } onCancel: {
            let sendCancel = cancellation.withLock { state -> Bool in
                guard state.generation == generation else { return false }
                state.requested = true
                return state.running
            }
            if sendCancel { executor.submitCancel { self.sendCancelRequest(generation: generation) } }
        }
    }

    /// True once the running call's task asked to cancel; long loops (COPY) poll it.
    var isCancellationRequested: Bool { cancellation.withLock { $0.requested } }

    /// The generation of the latest `runCancellable` call (for tests).
    var statementGeneration: UInt64 { cancellation.withLock { $0.generation } }

    /// Sends `PQcancel` if the statement of `generation` is still running; returns whether it did.
    ///
    /// Blocks (it connects to the server): runs on the canceller thread. The network call happens
    /// outside the lock, counted in `requestsInFlight`, which the statement's end and `close()`
    /// wait for (the latter before it frees the cancel handle).
    @discardableResult
    func sendCancelRequest(generation: UInt64) -> Bool {
        let cancelHandle = cancellation.withLock { state -> UnsafeHandle? in
            guard state.running, state.generation == generation, let cancelHandle = state.cancelHandle else { return nil }
            state.requestsInFlight += 1
            return cancelHandle
        }
        guard let cancelHandle else { return false }
        var buffer = [CChar](repeating: 0, count: 256)
        if PQcancel(cancelHandle.pointer, &buffer, Int32(buffer.count)) == 0 {
            let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            logger.warning("cancel request failed", metadata: ["db.cancel.error": "\(reason)"])
        }
        let waiters = cancellation.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.requestsInFlight -= 1
            guard state.requestsInFlight == 0 else { return [] }
            defer { state.inFlightWaiters = [] }
            return state.inFlightWaiters
        }
        for waiter in waiters { waiter.resume() }
        return true
    }

    /// Returns once no `PQcancel` is under way.
    func waitForCancelRequestsInFlight() async {
        await withCheckedContinuation { continuation in
            let idle = cancellation.withLock { state -> Bool in
                guard state.requestsInFlight > 0 else { return true }
                state.inFlightWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}
