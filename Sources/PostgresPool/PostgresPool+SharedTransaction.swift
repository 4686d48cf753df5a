import Postgres

extension PostgresPool {
    /// The connection and transaction that `withSharedTransaction` lends to its task.
    struct SharedTransaction: Sendable {
        let pool: ObjectIdentifier
        let connection: PostgresConnection
    }

    @TaskLocal static var sharedTransaction: SharedTransaction?

    /// Runs `body` as one transaction: every `withConnection`, `withTransaction` and `query` of
    /// this pool that `body` makes runs on the same connection, inside one `BEGIN … COMMIT`. So
    /// code written against the pool (each call its own unit) can be composed into one atomic
    /// unit without knowing it: it all commits when `body` returns, or none of it does.
    ///
    /// `body` must not use the pool from concurrent child tasks (they would share the connection).
    public func withSharedTransaction<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async throws -> Result {
        if isInSharedTransaction { return try await body() }
        return try await withTransaction { connection in
            try await Self.$sharedTransaction.withValue(SharedTransaction(pool: ObjectIdentifier(self), connection: connection)) {
                try await body()
            }
        }
    }

    /// The connection of the shared transaction this task runs in, if it is one of this pool's.
    var sharedConnection: PostgresConnection? {
        guard let shared = Self.sharedTransaction, shared.pool == ObjectIdentifier(self) else { return nil }
        return shared.connection
    }

    /// True while the calling task runs inside `withSharedTransaction` of this pool.
    public var isInSharedTransaction: Bool { sharedConnection != nil }

    /// True while the calling task runs inside `withSharedTransaction` of any pool: a failed
    /// statement then aborts the whole unit, so only the unit as a whole may be retried.
    public static var sharedTransactionIsActive: Bool { sharedTransaction != nil }
}
