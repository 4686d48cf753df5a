import Postgres

extension PostgresPool {
    /// The connection and transaction that `withSharedTransaction` lends to its task.
    struct SharedTransaction: Sendable {
        let pool: ObjectIdentifier
        let connection: PostgresConnection
        /// False for `withPinnedConnection`: one connection, but each unit its own transaction.
        var isTransaction = true
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

    /// Runs `body` on one connection: every `withConnection`, `withTransaction` and `query` of
    /// this pool that `body` makes uses it, each committing on its own as usual. For a unit whose
    /// statements must share a connection without sharing a transaction, such as a read and the
    /// audit entry queued to follow it (`PostgresConnection.sendAfterNextStatements`).
    /// Inside `withSharedTransaction` it joins that transaction's connection.
    public func withPinnedConnection<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        if let shared = sharedConnection { return try await body(shared) }
        return try await withConnection { connection in
            let pinned = SharedTransaction(pool: ObjectIdentifier(self), connection: connection, isTransaction: false)
            return try await Self.$sharedTransaction.withValue(pinned) { try await body(connection) }
        }
    }

    /// The connection of the shared transaction or pinned connection this task runs on, if it is one of this pool's.
    var sharedConnection: PostgresConnection? {
        guard let shared = Self.sharedTransaction, shared.pool == ObjectIdentifier(self) else { return nil }
        return shared.connection
    }

    /// True while the calling task runs inside `withSharedTransaction` of this pool.
    public var isInSharedTransaction: Bool {
        guard let shared = Self.sharedTransaction, shared.pool == ObjectIdentifier(self) else { return false }
        return shared.isTransaction
    }

    /// True while the calling task runs inside `withSharedTransaction` of any pool: a failed
    /// statement then aborts the whole unit, so only the unit as a whole may be retried.
    public static var sharedTransactionIsActive: Bool { sharedTransaction?.isTransaction ?? false }
}
