extension PostgresConnection {
    /// Runs `body` inside `BEGIN … COMMIT`. The `BEGIN` travels with the body's first statement
    /// (one round trip less), and a body that runs none sends neither.
    ///
    /// Commits when `body` returns; rolls back when it throws or when the task was cancelled
    /// meanwhile (then throws `CancellationError`). `COMMIT` and `ROLLBACK` themselves are never
    /// interrupted by cancellation, so the outcome is always one or the other. When this returns,
    /// PostgreSQL has acknowledged the `COMMIT`.
    ///
    /// If a statement failed inside `body` and `body` caught the error and returned anyway,
    /// PostgreSQL answers the `COMMIT` with `ROLLBACK`: this throws `transactionRolledBack`, so a
    /// write that was rolled back is never acknowledged.
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try beginLazily()
        let result: Result
        do {
            result = try await body(self)
            try Task.checkCancellation()
        } catch {
            await rollbackAfterFailure()
            throw error
        }
        // A body that ran no statement never sent its BEGIN: there is nothing to commit.
        guard let commit = try await commitIfBegun() else { return result }
        guard commit.command == "COMMIT" else {
            throw PostgresError(
                code: .transactionRolledBack,
                message: "COMMIT answered \(commit.command): a statement in the transaction had failed")
        }
        return result
    }

    /// Best effort: when the connection is broken the server has rolled back already, and the
    /// pool discards a connection whose transaction is still open.
    private func rollbackAfterFailure() async {
        do {
            try await rollbackIfBegun()
        } catch {
            logger.debug("rollback failed", metadata: ["db.error": "\(error)"])
        }
    }

    /// Marks a `BEGIN` pending: the next round trip sends it first.
    private func beginLazily() throws {
        try enter("withTransaction")
        defer { leave() }
        beginPending = true
    }

    /// Sends `COMMIT` (never interrupted by cancellation) and returns its answer, or nil when the
    /// `BEGIN` is still pending (no statement ran): then it is dropped and there is nothing to commit.
    private func commitIfBegun() async throws -> PostgresRows? {
        try await exclusively("withTransaction") {
            if beginPending {
                beginPending = false
                return nil
            }
            return try await queryIgnoringCancellation("COMMIT")
        }
    }

    /// Sends `ROLLBACK` (never interrupted by cancellation), unless the `BEGIN` is still pending
    /// (the body failed before its first statement): then it is dropped and there is nothing to undo.
    private func rollbackIfBegun() async throws {
        try await exclusively("withTransaction") {
            if beginPending {
                beginPending = false
                return
            }
            _ = try await queryIgnoringCancellation("ROLLBACK")
        }
    }
}
