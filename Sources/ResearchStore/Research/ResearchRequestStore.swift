import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `research_requests` and `research_status_history`.
struct ResearchRequestStore: Sendable {
    let pool: PostgresPool

    /// Creates a pending request in a session the caller may see, with its first history entry,
    /// in one statement. Nil when the session is not visible.
    func create(
        id: UUID, sessionID: UUID, caller: Caller, question: String, workflowType: String, parameters: JSONValue
    ) async throws -> ResearchRequest? {
        let rows = try await pool.query(
            """
            WITH target AS (
                SELECT id, user_id FROM sessions
                WHERE id = \(sessionID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            ), created AS (
                INSERT INTO research_requests AS r (id, session_id, user_id, question, workflow_type, parameters)
                SELECT \(id), target.id, target.user_id, \(question), \(workflowType), \(PostgresRawJSON(parameters.serialized))
                FROM target
                RETURNING \(unescaped: ResearchRequest.columns)
            ), history AS (
                INSERT INTO research_status_history (research_id, status, at)
                SELECT id, 'pending', created_at FROM created
            )
            SELECT * FROM created
            """)
        return try rows.first.map { row in
            try ResearchRequest(row: row, history: [.init(status: "pending", at: try row.decode(9, as: Date.self), reason: nil)])
        }
    }

    func find(id: UUID, caller: Caller) async throws -> ResearchRequest? {
        try await pool.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: ResearchRequest.columns) FROM research_requests r
                WHERE r.id = \(id) AND (\(caller.seesAllResearch) OR r.user_id = \(caller.userID))
                """)
            guard let row = rows.first else { return nil }
            let history = try await Self.histories(of: [id], on: connection)
            return try ResearchRequest(row: row, history: history[id] ?? [])
        }
    }

    enum TransitionOutcome {
        case notFound
        case refused(currentStatus: String)
        /// A worker holds it (or held it, and its lease ran out): only it, while the lease
        /// lives, or an admin may complete or fail it.
        case leaseHeldByAnother
        case changed(ResearchRequest)
    }

    /// Moves the request to `status` only if it is in one of the allowed source statuses, and
    /// records the transition, in one statement. The row lock (`FOR UPDATE`) makes racing
    /// transitions queue up: the second sees the first's outcome and is refused. A claimed
    /// request is completed or failed only by its lease holder while the lease lives (or an
    /// admin); a terminal status ends the lease.
    func transition(
        id: UUID, caller: Caller, to status: String, result: JSONValue?, error: String?, sources: [String]?
    ) async throws -> TransitionOutcome {
        try await pool.withConnection { connection in
            let rows = try await connection.query(
                """
                WITH current AS (
                    SELECT id, status, worker_id, lease_expires_at FROM research_requests
                    WHERE id = \(id) AND (\(caller.seesAllResearch) OR user_id = \(caller.userID))
                    FOR UPDATE
                ), allowed AS (
                    SELECT id, status, lease_expires_at IS NULL OR \(status) NOT IN ('completed', 'failed') OR \(caller.isAdmin)
                           OR (worker_id = \(caller.userID) AND lease_expires_at > now()) AS by_lease
                    FROM current
                ), changed AS (
                    UPDATE research_requests AS r SET
                        status = \(status),
                        started_at = CASE WHEN \(status) = 'running' THEN date_trunc('milliseconds', now())
                                          ELSE r.started_at END,
                        finished_at = CASE WHEN \(status) IN ('completed', 'failed', 'cancelled')
                                           THEN greatest(date_trunc('milliseconds', now()), coalesce(r.started_at, r.created_at))
                                      END,
                        result = coalesce(\(result.map { PostgresRawJSON($0.serialized) }), r.result),
                        error = coalesce(\(error), r.error),
                        sources = coalesce(\(sources), r.sources),
                        lease_expires_at = CASE WHEN \(status) IN ('completed', 'failed', 'cancelled') THEN NULL
                                                ELSE r.lease_expires_at END
                    FROM allowed
                    WHERE r.id = allowed.id AND allowed.status = ANY(\(ResearchRequest.sources(of: status))) AND allowed.by_lease
                    RETURNING \(unescaped: ResearchRequest.columns)
                ), history AS (
                    INSERT INTO research_status_history (research_id, status, at)
                    SELECT id, status, coalesce(finished_at, started_at) FROM changed
                )
                SELECT changed.*, allowed.status AS previous, allowed.by_lease FROM allowed LEFT JOIN changed ON true
                """)
            guard let row = rows.first else { return .notFound }
            if row.isNull(0) {
                let previous = try row.decode("previous", as: String.self)
                let byLease = try row.decode("by_lease", as: Bool.self)
                let legal = ResearchRequest.sources(of: status).contains(previous)
                return legal && !byLease ? .leaseHeldByAnother : .refused(currentStatus: previous)
            }
            let history = try await Self.histories(of: [id], on: connection)
            let request = try ResearchRequest(row: row, history: history[id] ?? [])
            return .changed(request)
        }
    }

    /// Newest first; nil when `sessionID` names a session the caller may not see.
    func list(
        caller: Caller, sessionID: UUID?, status: String?, workflowType: String?, after: (after: Date, id: UUID)?,
        limit: Int
    ) async throws -> [ResearchRequest]? {
        try await pool.withConnection { connection in
            if let sessionID {
                let visible = try await connection.query(
                    "SELECT 1 FROM sessions WHERE id = \(sessionID) AND (\(caller.seesAllResearch) OR user_id = \(caller.userID))")
                if visible.isEmpty { return nil }
            }
            let owner: String? = caller.seesAllResearch ? nil : caller.userID
            let query = Self.listQuery(
                owner: owner, sessionID: sessionID, status: status, workflowType: workflowType, after: after, limit: limit)
            let rows = try await connection.query(query)
            let ids = try rows.map { try $0.decode(0, as: UUID.self) }
            let history = try await Self.histories(of: ids, on: connection)
            return try zip(rows, ids).map { try ResearchRequest(row: $0, history: history[$1] ?? []) }
        }
    }

    /// The list's statement: one per leading filter (session, owner, status, workflow type, none),
    /// so even a generic plan reads the index of that filter; the other filters apply on top.
    /// (`($1 IS NULL OR session_id = $1)` cannot be an index condition.)
    static func listQuery(
        owner: String?, sessionID: UUID?, status: String?, workflowType: String?, after: (after: Date, id: UUID)?, limit: Int
    ) -> PostgresQuery {
        let (afterTime, afterID) = (after?.after, after?.id)
        if let sessionID {
            return """
                SELECT \(unescaped: ResearchRequest.columns) FROM research_requests r
                WHERE r.session_id = \(sessionID)
                  AND (\(owner)::text IS NULL OR r.user_id = \(owner))
                  AND (\(status)::text IS NULL OR r.status = \(status))
                  AND (\(workflowType)::text IS NULL OR r.workflow_type = \(workflowType))
                  AND (r.created_at, r.id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT \(limit)
                """
        }
        if let owner {
            return """
                SELECT \(unescaped: ResearchRequest.columns) FROM research_requests r
                WHERE r.user_id = \(owner)
                  AND (\(status)::text IS NULL OR r.status = \(status))
                  AND (\(workflowType)::text IS NULL OR r.workflow_type = \(workflowType))
                  AND (r.created_at, r.id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT \(limit)
                """
        }
        if let status {
            return """
                SELECT \(unescaped: ResearchRequest.columns) FROM research_requests r
                WHERE r.status = \(status)
                  AND (\(workflowType)::text IS NULL OR r.workflow_type = \(workflowType))
                  AND (r.created_at, r.id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT \(limit)
                """
        }
        if let workflowType {
            return """
                SELECT \(unescaped: ResearchRequest.columns) FROM research_requests r
                WHERE r.workflow_type = \(workflowType)
                  AND (r.created_at, r.id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT \(limit)
                """
        }
        // Everything (admins only): no index has this order, so this one reads the whole table.
        return """
            SELECT \(unescaped: ResearchRequest.columns) FROM research_requests r
            WHERE (r.created_at, r.id) < (coalesce(\(afterTime), 'infinity'), coalesce(\(afterID), \(unescaped: Keyset.maxUUID)))
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT \(limit)
            """
    }

    /// The status histories of `ids`, oldest transition first.
    static func histories(of ids: [UUID], on connection: PostgresConnection) async throws
        -> [UUID: [ResearchRequest.StatusChange]]
    {
        guard !ids.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT research_id, status, at, reason FROM research_status_history
            WHERE research_id = ANY(\(ids)) ORDER BY research_id, at, id
            """)
        var result: [UUID: [ResearchRequest.StatusChange]] = [:]
        for row in rows {
            let (id, status, at, reason) = try row.decode((UUID, String, Date, String?).self)
            result[id, default: []].append(.init(status: status, at: at, reason: reason))
        }
        return result
    }

    /// A page of a session's research requests (with their histories) for the export, newest
    /// first, after the last request of the previous page.
    static func exportPage(sessionID: UUID, after: ResearchRequest?, limit: Int, on connection: PostgresConnection)
        async throws -> [ResearchRequest]
    {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: ResearchRequest.columns) FROM research_requests r
            WHERE r.session_id = \(sessionID)
              AND (r.created_at, r.id) < (coalesce(\(after?.createdAt), 'infinity'), coalesce(\(after?.id), \(unescaped: Keyset.maxUUID)))
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT \(limit)
            """)
        let ids = try rows.map { try $0.decode(0, as: UUID.self) }
        let history = try await histories(of: ids, on: connection)
        return try zip(rows, ids).map { try ResearchRequest(row: $0, history: history[$1] ?? []) }
    }
}
