import CLibPQ

extension PostgresConnection {
    /// Runs one statement and returns its rows. Returns only after PostgreSQL's ReadyForQuery,
    /// so an implicit transaction has committed when this returns.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await exclusively("query") {
            try await runCancellable { try await self.execute(query) }
        }
    }

    /// Runs a statement that must not be interrupted by task cancellation (`COMMIT`, `ROLLBACK`).
    /// The caller has entered the connection.
    func queryIgnoringCancellation(_ query: PostgresQuery) async throws -> PostgresRows {
        try await execute(query)
    }

    func execute(_ query: PostgresQuery) async throws -> PostgresRows {
        try query.bindings.checkEncoded()
        let handle = try liveHandle()
        if hasPending { return try await sendingPending([query])[0] }
        guard configuration.usePreparedStatements else {
            let result = try await exec(handle) {
                query.bindings.withCArrays { count, types, values, lengths, formats in
                    PQsendQueryParams(handle, query.sql, count, types, values, lengths, formats, 1)
                }
            }
            return try await consume(result, handle: handle)
        }
        do {
            return try await executePrepared(query, handle: handle)
        } catch let error as PostgresError where error.sqlState == "0A000" {
            // "cached plan must not change result type": a schema change altered what the statement
            // returns. Prepare it afresh and run it once more, unless it aborted a transaction.
            preparedStatements.forget(PreparedStatementCache.key(for: query))
            guard PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            return try await executePrepared(query, handle: handle)
        }
    }

    private func executePrepared(_ query: PostgresQuery, handle: OpaquePointer) async throws -> PostgresRows {
        let name = try await preparedStatementName(for: query, handle: handle)
        let result = try await exec(handle) {
            query.bindings.withCArrays { count, _, values, lengths, formats in
                PQsendQueryPrepared(handle, name, count, values, lengths, formats, 1)
            }
        }
        return try await consume(result, handle: handle)
    }

    private func preparedStatementName(for query: PostgresQuery, handle: OpaquePointer) async throws -> String {
        let key = PreparedStatementCache.key(for: query)
        if let name = preparedStatements.name(for: key) { return name }
        let name = preparedStatements.nextName()
        let result = try await exec(handle) {
            query.bindings.withCArrays { count, types, _, _, _ in
                PQsendPrepare(handle, name, query.sql, count, types)
            }
        }
        _ = try await consume(result, handle: handle)
        preparedStatements.insert(key, name: name)
        await deallocateStale(handle: handle)
        return name
    }

    /// Deallocates the statements the cache evicted or forgot, unless a failed transaction
    /// refuses every command (then they wait for the next prepare).
    func deallocateStale(handle: OpaquePointer) async {
        guard PQtransactionStatus(handle) != PQTRANS_INERROR else { return }
        for name in preparedStatements.stale {
            let result = try? await exec(handle) { PQsendQuery(handle, "DEALLOCATE \(name)") }
            _ = try? await consume(result, handle: handle)
        }
        preparedStatements.clearStale()
    }

    /// Turns a finished `PGresult` into rows or an error, clearing it exactly once.
    func consume(_ result: OpaquePointer?, handle: OpaquePointer) async throws -> PostgresRows {
        guard let result else { throw connectionError(handle) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            defer { PQclear(result) }
            return PostgresRows(copying: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            PQclear(result)
            await abandonCopy(status: status, handle: handle)
            throw PostgresError(code: .protocolViolation, message: "COPY is only supported through copyFrom")
        default:
            defer { PQclear(result) }
            throw error(from: result, handle: handle)
        }
    }

    /// Leaves a COPY that `query` started: `FROM STDIN` is ended with an error (the server rolls it
    /// back), `TO STDOUT` is read to its end and dropped. Either way the connection is usable again;
    /// anything else (`COPY_BOTH`, a broken stream) marks it broken so the pool discards it.
    /// (`PQgetResult` keeps returning the COPY result while a COPY is in progress, so merely
    /// draining results would never end.)
    private func abandonCopy(status: ExecStatusType, handle: OpaquePointer) async {
        do {
            switch status {
            case PGRES_COPY_IN:
                try await putCopy(handle) { PQputCopyEnd(handle, "COPY is only supported through copyFrom") }
            case PGRES_COPY_OUT:
                try await drainCopyOut(handle)
            default:
                isBroken = true
                return
            }
            while let extra = try await nextResult(handle) {
                let status = PQresultStatus(extra)
                PQclear(extra)
                if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
                    isBroken = true
                    return
                }
            }
        } catch {
            isBroken = true
        }
    }

    /// Reads a `COPY TO STDOUT` to its end and drops the rows; throws if the stream broke.
    private func drainCopyOut(_ handle: OpaquePointer) async throws {
        while true {
            var row: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &row, 1)
            if let row { PQfreemem(row) }
            if length > 0 { continue }
            if length == -1 { return }
            guard length == 0 else { throw connectionError(handle) }
            if !TLSInput.isPending(handle) { _ = try await waitForSocket(.readable) }
            guard PQconsumeInput(handle) == 1 else { throw connectionError(handle) }
        }
    }

    /// The error a failed result describes, classified as a broken connection when libpq says so.
    func error(from result: OpaquePointer, handle: OpaquePointer) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
        }
        let broken = PQstatus(handle) != CONNECTION_OK
        var error = PostgresError(code: broken ? .connectionClosed : .server)
        error.sqlState = field(UInt8(ascii: "C"))
        error.severity = field(UInt8(ascii: "V")) ?? field(UInt8(ascii: "S"))
        error.message = field(UInt8(ascii: "M"))
            ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines()
        error.detail = field(UInt8(ascii: "D"))
        error.hint = field(UInt8(ascii: "H"))
        error.constraint = field(UInt8(ascii: "n"))
        error.table = field(UInt8(ascii: "t"))
        error.column = field(UInt8(ascii: "c"))
        return error
    }

    func connectionError(_ handle: OpaquePointer) -> PostgresError {
        let message = String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines()
        return PostgresError(code: PQstatus(handle) == CONNECTION_OK ? .protocolViolation : .connectionClosed, message: message)
    }
}
