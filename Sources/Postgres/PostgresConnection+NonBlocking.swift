import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libpq's non-blocking calls, with the waits libpq would block in turned into awaits of socket
/// readiness. The waits are not interrupted by task cancellation: a statement in flight is
/// cancelled on the server (`runCancellable`) and its task waits for the answer.
extension PostgresConnection {
    /// Waits until the socket is ready for one of `interest`.
    func waitForSocket(_ interest: SocketReadiness) async throws -> SocketReadiness {
        try await loop.wait(registration, for: interest)
    }

    /// Sends everything libpq has queued. While the socket takes no more, waits for it to be
    /// writable or readable and reads input meanwhile (libpq's rule: the server may wait for us
    /// to read before it reads more).
    func flushOutput(_ handle: OpaquePointer) async throws {
        while true {
            switch PQflush(handle) {
            case 0: return
            case 1:
                let ready = try await waitForSocket([.readable, .writable])
                if ready.contains(.readable), PQconsumeInput(handle) == 0 { throw connectionError(handle) }
            default: throw connectionError(handle)
            }
        }
    }

    /// The next result, as blocking `PQgetResult` returns it (NULL ends a statement's results),
    /// but awaiting input instead of blocking: `PQgetResult` is called only once `PQisBusy` says
    /// it will not wait. A connection that broke reports it through `PQgetResult`'s result.
    func nextResult(_ handle: OpaquePointer) async throws -> OpaquePointer? {
        while PQisBusy(handle) != 0 {
            guard PQconsumeInput(handle) == 1 else {
                // A failed read leaves the connection bad (then PQisBusy is 0 and PQgetResult
                // reports the failure without waiting); anything else would make it wait.
                if PQstatus(handle) == CONNECTION_OK { throw connectionError(handle) }
                break
            }
            if PQisBusy(handle) == 0 { break }
            if TLSInput.isPending(handle) { continue }
            _ = try await waitForSocket(.readable)
        }
        return PQgetResult(handle)
    }

    /// What `PQexec` does, without blocking: sends with `send` (a `PQsend…` call), flushes, and
    /// returns the last result, or the first COPY result, or the one that found the connection
    /// broken. NULL when sending failed.
    func exec(_ handle: OpaquePointer, _ send: () -> Int32) async throws -> OpaquePointer? {
        guard send() == 1 else { return nil }
        try await flushOutput(handle)
        var last: OpaquePointer?
        do {
            while let result = try await nextResult(handle) {
                if let last { PQclear(last) }
                last = result
                let status = PQresultStatus(result)
                if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH { break }
                if PQstatus(handle) == CONNECTION_BAD { break }
            }
        } catch {
            if let last { PQclear(last) }
            throw error
        }
        return last
    }

    /// `PQputCopyData` or `PQputCopyEnd` (`put`), retried until libpq takes it, then flushed:
    /// waiting for the socket whenever it is full keeps memory bounded to about one chunk.
    func putCopy(_ handle: OpaquePointer, _ put: () -> Int32) async throws {
        while true {
            switch put() {
            case 1:
                try await flushOutput(handle)
                return
            case 0: try await flushOutput(handle)  // no room: wait until some is sent, then retry
            default: throw connectionError(handle)
            }
        }
    }
}

/// Decrypted input that OpenSSL holds but libpq has not read yet. `PQconsumeInput` reads at most
/// the room left in libpq's buffer, so a TLS record larger than that leaves the rest in OpenSSL,
/// off the socket: waiting for the socket then would wait for ever. (PostgreSQL's own server
/// sends records of at most 8 KiB, which always fit; poolers and other servers may not.)
enum TLSInput {
    private struct Function: @unchecked Sendable {
        // @unchecked Sendable: an immutable C function pointer, callable from any thread.
        let pending: @convention(c) (UnsafeMutableRawPointer?) -> Int32
    }

    /// `SSL_pending` of the OpenSSL that libpq loaded, if it did.
    private static let sslPending: Function? = {
        guard let symbol = dlsym(nil, "SSL_pending") else { return nil }
        return Function(pending: unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutableRawPointer?) -> Int32).self))
    }()

    /// True when the connection uses TLS and OpenSSL holds decrypted bytes for it.
    static func isPending(_ handle: OpaquePointer) -> Bool {
        guard PQsslInUse(handle) != 0, let sslPending, let ssl = PQsslStruct(handle, "OpenSSL") else { return false }
        return sslPending.pending(ssl) > 0
    }
}
