import CLibPQ

/// One `NOTIFY` (or `pg_notify`) a connection received on a channel it `LISTEN`s to.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The backend that sent it.
    public var senderPID: Int32
}

extension PostgresConnection {
    /// The next notification on a channel this connection `LISTEN`s to, waiting until one
    /// arrives. Notifications arrive in commit order; those that came with a statement's answer
    /// are returned first. Task cancellation ends the wait (`CancellationError`) and leaves the
    /// connection usable; a connection that broke throws `connectionClosed`, so a listener knows
    /// to reconnect (and that notifications were lost meanwhile).
    public func nextNotification() async throws -> PostgresNotification {
        try await exclusively("nextNotification") {
            let handle = try liveHandle()
            while true {
                if let notification = PQnotifies(handle) {
                    defer { PQfreemem(notification) }
                    return PostgresNotification(
                        channel: String(cString: notification.pointee.relname),
                        payload: notification.pointee.extra.map { String(cString: $0) } ?? "",
                        senderPID: notification.pointee.be_pid)
                }
                try Task.checkCancellation()
                if !TLSInput.isPending(handle) { _ = try await loop.cancellableWait(registration, for: .readable) }
                guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else { throw connectionError(handle) }
            }
        }
    }
}
