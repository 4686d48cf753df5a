#if canImport(Glibc)
import CLibPQ
import Foundation
import Glibc

/// One non-blocking libpq connection, driven in turn by the task that leased it and by the loop thread.
///
/// A statement: the task sends it (`PQsendQueryPrepared`, `PQflush`: non-blocking, so fine on
/// the cooperative pool), stores its continuation and arms the socket; the loop thread reads the
/// reply (`PQconsumeInput`, `PQisBusy`, `PQgetResult`), re-arming while libpq is busy, and resumes
/// the continuation with the one result.
final class LoopConnection: @unchecked Sendable {
    // @unchecked Sendable: the mutable state below and every libpq call on `handle` belong to one
    // side at a time, and ownership moves only at two synchronising points.
    // Task → loop thread: the task writes `waiter`, `flushing`, `result`, then arms the one-shot
    // registration with epoll_ctl(MOD); the loop thread touches them only after epoll_wait reports
    // that registration. The kernel orders the two (epoll_ctl queues the armed item under the epoll
    // lock, epoll_wait takes it from the ready list under the same lock), so the task's writes
    // happen before the loop thread's reads.
    // Loop thread → task: the loop thread's last touch comes before `resume`; the resumed task runs
    // after it (the job travels through the executor's synchronised queue). One-shot means the
    // registration is disarmed once reported, and only the current owner re-arms it, so no second
    // event can hand the connection to the loop thread while the task owns it.
    let handle: OpaquePointer
    let socket: Int32
    private let loop: EpollLoop
    private var waiter: UnsafeContinuation<UnsafePGresult, any Error>?
    /// `PQflush` returned 1: output is still queued in libpq.
    private var flushing = false
    /// The statement's result so far (the first one libpq returned).
    private var result: OpaquePointer?

    private init(handle: OpaquePointer, loop: EpollLoop) {
        self.handle = handle
        self.socket = PQsocket(handle)
        self.loop = loop
    }

    /// Connects (blocking: call it off the cooperative pool), prepares `statements`, switches
    /// libpq to non-blocking and registers the socket with `loop`.
    static func open(
        parameters: [(keyword: String, value: String)], statements: [PreparedBenchStatement], loop: EpollLoop
    ) throws -> LoopConnection {
        let handle = try withKeywordsAndValues(parameters) { keywords, values in
            guard let handle = PQconnectdbParams(keywords, values, 0) else {
                throw BenchFailure("libpq could not allocate a connection")
            }
            return handle
        }
        do {
            guard PQstatus(handle) == CONNECTION_OK else { throw BenchFailure("connect: \(message(of: handle))") }
            for statement in statements {
                let prepared = PQprepare(
                    handle, statement.name, statement.sql, Int32(statement.parameterTypes.count),
                    statement.parameterTypes)
                defer { PQclear(prepared) }
                guard PQresultStatus(prepared) == PGRES_COMMAND_OK else {
                    throw BenchFailure("prepare \(statement.name): \(message(of: handle))")
                }
            }
            guard PQsetnonblocking(handle, 1) == 0 else { throw BenchFailure("PQsetnonblocking: \(message(of: handle))") }
            let connection = LoopConnection(handle: handle, loop: loop)
            try loop.register(connection)
            return connection
        } catch {
            PQfinish(handle)
            throw error
        }
    }

    /// Sends one prepared statement and waits for its result; the caller owns (and clears) it.
    /// Called by the task that leased the connection.
    func execute(_ statement: PreparedBenchStatement, _ parameters: BinaryParameters) async throws -> UnsafePGresult {
        let sent = parameters.withCArrays { count, values, lengths, formats in
            PQsendQueryPrepared(handle, statement.name, count, values, lengths, formats, 1)
        }
        guard sent == 1 else { throw BenchFailure("PQsendQueryPrepared: \(Self.message(of: handle))") }
        let flushed = PQflush(handle)
        guard flushed >= 0 else { throw BenchFailure("PQflush: \(Self.message(of: handle))") }
        return try await withUnsafeThrowingContinuation { continuation in
            waiter = continuation
            flushing = flushed == 1
            result = nil
            let status = loop.arm(self, for: flushing ? Epoll.input | Epoll.output : Epoll.input)
            if status != 0 {
                // Not armed, so the loop thread never sees this connection: still ours.
                waiter = nil
                continuation.resume(throwing: BenchFailure("epoll_ctl(MOD) failed: errno \(status)"))
            }
        }
    }

    /// Called on the loop thread when the armed registration fired with `events`.
    func handleReadiness(_ events: UInt32) {
        do {
            if let rearm = try advance(events) {
                let status = loop.arm(self, for: rearm)
                if status != 0 { throw BenchFailure("epoll_ctl(MOD) failed: errno \(status)") }
                return
            }
            guard let result else { throw BenchFailure("the statement returned no result") }
            self.result = nil
            takeWaiter().resume(returning: UnsafePGresult(pointer: result))
        } catch {
            if let result { PQclear(result) }
            result = nil
            takeWaiter().resume(throwing: error)
        }
    }

    /// Moves the statement on as far as the input allows; returns the events to wait for next,
    /// or nil once libpq has returned every result (`PQgetResult` gave NULL).
    private func advance(_ events: UInt32) throws -> UInt32? {
        if flushing {
            // libpq: while PQflush returns 1, wait for read- or write-ready; consume input on read-ready.
            if events & (Epoll.input | Epoll.error | Epoll.hangUp) != 0 { try consumeInput() }
            switch PQflush(handle) {
            case 0: flushing = false
            case 1: return Epoll.input | Epoll.output
            default: throw BenchFailure("PQflush: \(Self.message(of: handle))")
            }
        }
        try consumeInput()
        while true {
            // PQgetResult blocks while libpq is busy, even in non-blocking mode: ask first.
            if PQisBusy(handle) != 0 { return Epoll.input }
            guard let next = PQgetResult(handle) else { return nil }
            if result == nil { result = next } else { PQclear(next) }
        }
    }

    private func consumeInput() throws {
        guard PQconsumeInput(handle) == 1 else { throw BenchFailure("PQconsumeInput: \(Self.message(of: handle))") }
    }

    private func takeWaiter() -> UnsafeContinuation<UnsafePGresult, any Error> {
        guard let waiter else { fatalError("readiness reported for a connection nobody waits on") }
        self.waiter = nil
        return waiter
    }

    /// Sends Terminate and frees the connection; after the loop thread has stopped.
    func finish() {
        PQfinish(handle)
    }

    static func message(of handle: OpaquePointer) -> String {
        String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A `PGresult` handed from the loop thread to the waiting task, which then owns it alone.
struct UnsafePGresult: @unchecked Sendable {
    // @unchecked Sendable: exactly one owner at a time (loop thread, then the resumed task).
    let pointer: OpaquePointer
}

/// Calls `body` with NULL-terminated C arrays of the keywords and values.
private func withKeywordsAndValues<R>(
    _ pairs: [(keyword: String, value: String)],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) throws -> R
) throws -> R {
    let keywords = pairs.map { strdup($0.keyword) }
    let values = pairs.map { strdup($0.value) }
    defer {
        keywords.forEach { free($0) }
        values.forEach { free($0) }
    }
    return try body(keywords.map { UnsafePointer($0) } + [nil], values.map { UnsafePointer($0) } + [nil])
}
#endif
