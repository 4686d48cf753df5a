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
        try await thread.run { self.beginPending = true }
        let result: Result
        do {
            result = try await body(self)
            try Task.checkCancellation()
        } catch {
            await rollbackAfterFailure()
            throw error
        }
        // A body that ran no statement never sent its BEGIN: there is nothing to commit.
        if try await thread.run({ defer { self.beginPending = false }; return self.beginPending }) { return result }
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
            // Nothing sent yet (the body failed before its first statement): nothing to roll back.
            if try await thread.run({ defer { self.beginPending = false }; return self.beginPending }) { return }
            _ = try await queryIgnoringCancellation("ROLLBACK")
        } catch {
            logger.debug("rollback failed", metadata: ["db.error": "\(error)"])
        }
    }
}
