extension PostgresConnection {
    /// Runs `body` inside `BEGIN … COMMIT`.
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
        try await query("BEGIN")
        let result: Result
        do {
            result = try await body(self)
            try Task.checkCancellation()
        } catch {
            await rollbackAfterFailure()
            throw error
        }
        let commit = try await queryIgnoringCancellation("COMMIT")
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
            _ = try await queryIgnoringCancellation("ROLLBACK")
        } catch {
            logger.debug("rollback failed", metadata: ["db.error": "\(error)"])
        }
    }
}
