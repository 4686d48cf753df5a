import CLibPQ

extension PostgresConnection {
    /// How many statements are sent before their results are read back. Bounded so neither side's
    /// socket buffer fills while the other waits (libpq's blocking-mode pipeline deadlock).
    static let pipelineChunkSize = 128

    /// Sends all `queries` in pipeline mode, in a few round trips, and returns each one's rows.
    ///
    /// Outside an explicit transaction the statements share the pipeline's implicit transaction:
    /// when one fails, the ones before it are rolled back, the ones after it are skipped, and the
    /// thrown error's `statementIndex` names the failed one. Returns only after the pipeline's
    /// sync point, i.e. after PostgreSQL has committed.
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        if queries.isEmpty { return [] }
        for query in queries { try query.bindings.checkEncoded() }
        return try await runCancellable { try self.blockingPipeline(queries) }
    }

    private func blockingPipeline(_ queries: [PostgresQuery]) throws -> [PostgresRows] {
        let handle = try liveHandle()
        guard PQenterPipelineMode(handle) == 1 else { throw connectionError(handle) }
        var results: [PostgresRows] = []
        results.reserveCapacity(queries.count)
        var firstError: PostgresError?
        var sent = 0
        var synced = false
        while sent < queries.count, firstError == nil {
            let end = min(sent + Self.pipelineChunkSize, queries.count)
            for query in queries[sent..<end] {
                let accepted = query.bindings.withCArrays { count, types, values, lengths, formats in
                    PQsendQueryParams(handle, query.sql, count, types, values, lengths, formats, 1)
                }
                guard accepted == 1 else { throw connectionError(handle) }
            }
            synced = end == queries.count
            let marked = synced ? PQpipelineSync(handle) : PQsendFlushRequest(handle)
            guard marked == 1, PQflush(handle) == 0 else { throw connectionError(handle) }
            for index in sent..<end {
                let rows = try readPipelineResult(handle: handle)
                switch rows {
                case .success(let rows): results.append(rows)
                case .failure(let error):
                    if firstError == nil {
                        firstError = error
                        firstError?.statementIndex = index
                    }
                }
            }
            sent = end
        }
        if !synced {
            guard PQpipelineSync(handle) == 1, PQflush(handle) == 0 else { throw connectionError(handle) }
        }
        try awaitPipelineSync(handle: handle)
        if PQexitPipelineMode(handle) != 1 { throw connectionError(handle) }
        if let firstError { throw firstError }
        return results
    }

    /// Reads one statement's results up to the NULL that ends them.
    private func readPipelineResult(handle: OpaquePointer) throws -> Result<PostgresRows, PostgresError> {
        var outcome: Result<PostgresRows, PostgresError>?
        while let result = PQgetResult(handle) {
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

    private func awaitPipelineSync(handle: OpaquePointer) throws {
        while true {
            guard let result = PQgetResult(handle) else {
                if PQstatus(handle) != CONNECTION_OK { throw connectionError(handle) }
                continue
            }
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { return }
        }
    }
}
