import Postgres
import Synchronization

extension PostgresPool {
    /// Where the reads of a task go instead of this pool: set by `routingReads(to:)`. Once a unit
    /// of the task had to run on the primary, the rest of the task does too, so it never reads
    /// older data than it has just written.
    final class ReadRoute: Sendable {
        let primary: ObjectIdentifier
        let replica: PostgresPool
        let onPrimary = Atomic<Bool>(false)

        init(primary: ObjectIdentifier, replica: PostgresPool) {
            self.primary = primary
            self.replica = replica
        }
    }

    @TaskLocal static var readRoute: ReadRoute?

    /// Runs `body` with this pool's connections taken from `replica` instead, for a unit of work
    /// that should only read. A unit that turns out to write (the replica answers 25006,
    /// read-only transaction), or that the replica cannot serve (connection lost, no connection
    /// in time, a query cancelled by replay), runs again, whole, on this pool: on a replica
    /// nothing it did was written. Other pools (the exports') are not affected. `finished` learns,
    /// also when `body` throws, whether every unit ran on the replica (false once one ran here).
    public func routingReads<Result: Sendable>(
        to replica: PostgresPool, isolation: isolated (any Actor)? = #isolation, finished: (_ onReplica: Bool) -> Void = { _ in },
        _ body: () async throws -> Result
    ) async throws -> Result {
        let route = ReadRoute(primary: ObjectIdentifier(self), replica: replica)
        defer { finished(!route.onPrimary.load(ordering: .relaxed)) }
        return try await Self.$readRoute.withValue(route) { try await body() }
    }

    /// The route this task's reads of this pool take, if any.
    var activeReadRoute: ReadRoute? {
        guard let route = Self.readRoute, route.primary == ObjectIdentifier(self), !route.onPrimary.load(ordering: .relaxed) else {
            return nil
        }
        return route
    }

    /// Whether a unit that failed on a replica may run again on the primary.
    static func primaryMayRetry(after error: any Error) -> Bool {
        if error is PostgresPoolError { return true }
        guard let error = error as? PostgresError else { return false }
        switch error.code {
        case .connectionFailed, .connectionClosed: return true
        case .server:
            // read_only_sql_transaction, serialization_failure (a conflict with replay),
            // admin_shutdown, cannot_connect_now.
            return ["25006", "40001", "57P01", "57P03"].contains(error.sqlState ?? "")
        default: return false
        }
    }
}
