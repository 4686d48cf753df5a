import FoundationEssentials
import PostgresPool

/// Where a research request stands, as a session stream compares it after missed notifications.
struct ResearchState: Sendable, Equatable {
    var status: String
    /// A lease that expired and a new claim leave the status as it was, not the attempt.
    var attempt: Int
}

extension ResearchRequestStore {
    /// The states of the newest `limit` research requests of a session, by id: what a stream
    /// knows before it can have missed a change, and reads again after its listener reconnected.
    func states(sessionID: UUID, caller: Caller, limit: Int) async throws -> [UUID: ResearchState] {
        let rows = try await pool.query(
            """
            SELECT r.id, r.status, r.attempt FROM research_requests r
            WHERE r.session_id = \(sessionID) AND (\(caller.seesAllResearch) OR r.user_id = \(caller.userID))
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT \(limit)
            """)
        var states: [UUID: ResearchState] = [:]
        for row in rows {
            let (id, status, attempt) = try row.decode((UUID, String, Int).self)
            states[id] = ResearchState(status: status, attempt: attempt)
        }
        return states
    }
}
