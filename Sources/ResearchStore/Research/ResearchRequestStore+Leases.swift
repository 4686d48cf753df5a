import FoundationEssentials
import Postgres

/// The SQL of research workers: claims, lease renewals, and the sweep of leases that ran out.
extension ResearchRequestStore {
    /// Claims the oldest pending request (of `workflowTypes`, when any): it becomes `running`
    /// under a lease of `leaseSeconds` held by `worker`, its attempt counted, the transition
    /// recorded; one statement. `SKIP LOCKED` lets concurrent claims pass over a row another
    /// claim is taking, so no two ever get the same request. Nil when none is pending.
    func claim(worker: String, workflowTypes: [String], leaseSeconds: Int) async throws -> ResearchRequest? {
        let rows = try await pool.query(
            """
            WITH candidate AS (
                SELECT id FROM research_requests
                WHERE status = 'pending' AND (cardinality(\(workflowTypes)::text[]) = 0 OR workflow_type = ANY(\(workflowTypes)))
                ORDER BY created_at, id
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE research_requests AS r SET
                    status = 'running',
                    started_at = greatest(date_trunc('milliseconds', now()), r.created_at),
                    attempt = r.attempt + 1,
                    worker_id = \(worker),
                    lease_expires_at = date_trunc('milliseconds', now()) + \(leaseSeconds) * interval '1 second'
                FROM candidate
                WHERE r.id = candidate.id
                RETURNING \(unescaped: ResearchRequest.columns)
            ), history AS (
                INSERT INTO research_status_history (research_id, status, at)
                SELECT id, 'running', started_at FROM claimed
            )
            SELECT * FROM claimed
            """)
        guard let row = rows.first else { return nil }
        let id = try row.decode(0, as: UUID.self)
        let history = try await pool.withConnection { try await Self.histories(of: [id], on: $0) }
        return try ResearchRequest(row: row, history: history[id] ?? [])
    }

    enum RenewalOutcome {
        case notFound
        /// The caller does not hold a live lease on it (another worker does, it ran out, or it
        /// was never claimed).
        case notHeld
        case renewed(ResearchRequest)
    }

    /// Extends the lease of `worker` on request `id` to `leaseSeconds` from now, if it still holds it.
    func renew(id: UUID, worker: String, leaseSeconds: Int) async throws -> RenewalOutcome {
        try await pool.withConnection { connection in
            let rows = try await connection.query(
                """
                WITH current AS (
                    SELECT id FROM research_requests WHERE id = \(id)
                ), renewed AS (
                    UPDATE research_requests AS r SET
                        lease_expires_at = date_trunc('milliseconds', now()) + \(leaseSeconds) * interval '1 second'
                    WHERE r.id = \(id) AND r.status = 'running' AND r.worker_id = \(worker) AND r.lease_expires_at > now()
                    RETURNING \(unescaped: ResearchRequest.columns)
                )
                SELECT renewed.* FROM current LEFT JOIN renewed ON true
                """)
            guard let row = rows.first else { return .notFound }
            if row.isNull(0) { return .notHeld }
            let history = try await Self.histories(of: [id], on: connection)
            return .renewed(try ResearchRequest(row: row, history: history[id] ?? []))
        }
    }

    /// Ends up to `limit` leases that ran out: each request goes back to `pending` (to be
    /// claimed again), or, once it was claimed `maxAttempts` times, to `failed`; the history says
    /// `lease_expired`. `SKIP LOCKED` lets every replica sweep at once without waiting on each
    /// other, and a lease renewed meanwhile is no longer picked (the condition is checked again
    /// on the locked row). Returns how many it ended.
    func sweepExpiredLeases(maxAttempts: Int, limit: Int) async throws -> Int {
        let rows = try await pool.query(
            """
            WITH expired AS (
                SELECT id FROM research_requests
                WHERE lease_expires_at < now() AND status = 'running'
                ORDER BY lease_expires_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), ended AS (
                UPDATE research_requests AS r SET
                    status = CASE WHEN r.attempt >= \(maxAttempts) THEN 'failed' ELSE 'pending' END,
                    started_at = CASE WHEN r.attempt >= \(maxAttempts) THEN r.started_at END,
                    finished_at = CASE WHEN r.attempt >= \(maxAttempts)
                                       THEN greatest(date_trunc('milliseconds', now()), r.started_at) END,
                    error = CASE WHEN r.attempt >= \(maxAttempts)
                                 THEN 'its worker''s lease expired ' || r.attempt || ' times (RESEARCH_MAX_ATTEMPTS)'
                                 ELSE r.error END,
                    lease_expires_at = NULL
                FROM expired
                WHERE r.id = expired.id
                RETURNING r.id, r.status, r.finished_at
            ), history AS (
                INSERT INTO research_status_history (research_id, status, at, reason)
                SELECT id, status, coalesce(finished_at, date_trunc('milliseconds', now())), 'lease_expired' FROM ended
            )
            SELECT count(*) FROM ended
            """)
        return try rows.first?.decode(0, as: Int.self) ?? 0
    }
}
