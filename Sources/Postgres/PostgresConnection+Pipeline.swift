import CLibPQ

extension PostgresConnection {
    /// How many statements are sent before their results are read back. Bounded so the results
    /// buffered on either side stay small (and, with the flush requests, so results stream back).
    static let pipelineChunkSize = 128

    /// Sends all `queries` in pipeline mode, in a few round trips, and returns each one's rows.
    /// With prepared statements on, each is sent by name, prepared in the pipeline the first time.
    ///
    /// Outside an explicit transaction the statements share the pipeline's implicit transaction:
    /// when one fails, the ones before it are rolled back, the ones after it are skipped, and the
    /// thrown error's `statementIndex` names the failed one. Returns only after the pipeline's
    /// sync point, i.e. after PostgreSQL has committed.
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        if queries.isEmpty { return [] }
        for query in queries { try query.bindings.checkEncoded() }
        return try await exclusively("pipeline") {
            try await runCancellable {
                if self.hasPending { return try await self.sendingPending(queries) }
                return try await self.runPipeline(queries)
            }
        }
    }

    /// Queues `query` to travel behind the statements of this connection's next round trip, in
    /// the same pipeline and before its sync point, so it costs no round trip of its own: for a
    /// statement that must succeed for the next ones to count, but whose rows nobody reads (an
    /// audit entry written with the read it records). If it fails, that round trip throws. It
    /// commits with them: in their transaction, or at the sync point after an explicit `COMMIT`.
    /// The pool sends what is still queued when a lease ends, and drops it when the lease failed.
    public func sendAfterNextStatements(_ query: PostgresQuery) async throws {
        try query.bindings.checkEncoded()
        try enter("sendAfterNextStatements")
        defer { leave() }
        statementsAfter.append(query)
    }

    /// Sends what `sendAfterNextStatements` queued, if no round trip has taken it yet.
    public func sendQueuedStatements() async throws {
        try await exclusively("sendQueuedStatements") {
            try await runCancellable {
                if !self.statementsAfter.isEmpty { _ = try await self.sendingPending([]) }
            }
        }
    }

    /// Drops what `sendAfterNextStatements` queued (the lease failed before sending it).
    public func dropQueuedStatements() async {
        guard (try? enter("dropQueuedStatements")) != nil else { return }
        defer { leave() }
        statementsAfter.removeAll()
    }

    /// A `BEGIN` that `withTransaction` left pending, or statements queued to follow.
    var hasPending: Bool { beginPending || !statementsAfter.isEmpty }

    /// Sends `queries` in one pipeline with the pending `BEGIN` before them and the queued
    /// statements after them, and returns the rows of `queries` only; a failure's
    /// `statementIndex` counts `queries` only (nil when it was one of the others).
    func sendingPending(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        let before: [PostgresQuery] = beginPending ? ["BEGIN"] : []
        let after = statementsAfter
        beginPending = false
        statementsAfter = []
        do {
            return Array(try await runPipeline(before + queries + after).dropFirst(before.count).prefix(queries.count))
        } catch var error as PostgresError {
            error.statementIndex = error.statementIndex.map { $0 - before.count }.flatMap { queries.indices.contains($0) ? $0 : nil }
            if queries.count == 1 { error.statementIndex = nil }
            throw error
        }
    }

    /// How one statement goes into the pipeline: unnamed, or by the name of a prepared statement,
    /// which `prepareFirst` says the pipeline itself prepares just before using it.
    private struct Pipelined {
        var key: String
        var name: String?
        var prepareFirst = false
    }

    private func runPipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        let handle = try liveHandle()
        guard PQenterPipelineMode(handle) == 1 else { throw connectionError(handle) }
        var results: [PostgresRows] = []
        results.reserveCapacity(queries.count)
        var firstError: PostgresError?
        var sent = 0
        var synced = false
        /// Statements this pipeline prepares, by key, until their Parse is confirmed.
        var preparing: [String: String] = [:]
        while sent < queries.count, firstError == nil {
            let end = min(sent + Self.pipelineChunkSize, queries.count)
            var chunk: [Pipelined] = []
            for query in queries[sent..<end] {
                let statement = plan(query, preparing: &preparing)
                try send(query, as: statement, handle: handle)
                chunk.append(statement)
            }
            synced = end == queries.count
            let marked = synced ? PQpipelineSync(handle) : PQsendFlushRequest(handle)
            guard marked == 1 else { throw connectionError(handle) }
            try await flushOutput(handle)
            for (index, statement) in zip(sent..<end, chunk) {
                var outcome: Result<PostgresRows, PostgresError>
                if statement.prepareFirst, let name = statement.name {
                    outcome = try await readPipelineResult(handle: handle)
                    if case .success = outcome { preparedStatements.insert(statement.key, name: name) }
                    let executed = try await readPipelineResult(handle: handle)
                    if case .success = outcome { outcome = executed }
                } else {
                    outcome = try await readPipelineResult(handle: handle)
                }
                switch outcome {
                case .success(let rows): results.append(rows)
                case .failure(let error):
                    // "cached plan must not change result type": prepare it afresh next time.
                    if error.sqlState == "0A000" { preparedStatements.forget(statement.key) }
                    if firstError == nil {
                        firstError = error
                        firstError?.statementIndex = index
                    }
                }
            }
            sent = end
        }
        if !synced {
            guard PQpipelineSync(handle) == 1 else { throw connectionError(handle) }
            try await flushOutput(handle)
        }
        try await awaitPipelineSync(handle: handle)
        if PQexitPipelineMode(handle) != 1 { throw connectionError(handle) }
        await deallocateStale(handle: handle)
        if let firstError { throw firstError }
        return results
    }

    /// Unnamed when prepared statements are off; else the cached name, or a new one that this
    /// pipeline prepares (once, however often the statement recurs in it).
    private func plan(_ query: PostgresQuery, preparing: inout [String: String]) -> Pipelined {
        let key = PreparedStatementCache.key(for: query)
        guard configuration.usePreparedStatements else { return Pipelined(key: key) }
        if let name = preparedStatements.name(for: key) ?? preparing[key] { return Pipelined(key: key, name: name) }
        let name = preparedStatements.nextName()
        preparing[key] = name
        return Pipelined(key: key, name: name, prepareFirst: true)
    }

    private func send(_ query: PostgresQuery, as statement: Pipelined, handle: OpaquePointer) throws {
        let accepted = query.bindings.withCArrays { count, types, values, lengths, formats -> Int32 in
            guard let name = statement.name else {
                return PQsendQueryParams(handle, query.sql, count, types, values, lengths, formats, 1)
            }
            if statement.prepareFirst, PQsendPrepare(handle, name, query.sql, count, types) != 1 { return 0 }
            return PQsendQueryPrepared(handle, name, count, values, lengths, formats, 1)
        }
        guard accepted == 1 else { throw connectionError(handle) }
    }

    /// Reads one statement's results up to the NULL that ends them.
    private func readPipelineResult(handle: OpaquePointer) async throws -> Result<PostgresRows, PostgresError> {
        var outcome: Result<PostgresRows, PostgresError>?
        while let result = try await nextResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                outcome = .success(PostgresRows(copying: result))
            case PGRES_PIPELINE_ABORTED:
                outcome = .failure(PostgresError(code: .server, message: "skipped after an earlier failure"))
            default:
                outcome = .failure(error(from: result, handle: handle))
            }
        }
        guard let outcome else { throw connectionError(handle) }
        if case .failure(let error) = outcome, error.code == .connectionClosed { throw error }
        return outcome
    }

    private func awaitPipelineSync(handle: OpaquePointer) async throws {
        while true {
            guard let result = try await nextResult(handle) else {
                if PQstatus(handle) != CONNECTION_OK { throw connectionError(handle) }
                continue
            }
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { return }
        }
    }
}
