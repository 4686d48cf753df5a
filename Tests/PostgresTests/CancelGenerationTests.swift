import Foundation
@testable import Postgres
import TestSupport
import Testing

/// Waits, through another connection, until backend `pid` runs a statement starting with
/// `prefix` (state `active`), and optionally waits on a lock. Polls: no wall-clock bound but the hang guard.
func waitUntilRunning(pid: Int, prefix: String, waitingOnLock: Bool = false) async throws {
    try await TestDatabase.withConnection { admin in
        let deadline = ContinuousClock.now + .seconds(60)  // a hang guard only
        while ContinuousClock.now < deadline {
            let rows = try await admin.query(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE pid = \(pid)::int4 AND state = 'active' AND starts_with(query, \(prefix))
                  AND (NOT \(waitingOnLock) OR wait_event_type = 'Lock')
                """)
            if try rows[0].decode(0, as: Int.self) == 1 { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("backend \(pid) never ran \(prefix)")
    }
}

@Suite("A cancel request reaches only the statement it was meant for")
struct CancelGenerationTests {
    @Test("a cancel for statement N, sent while statement N+1 runs, does nothing; one for N+1 cancels it")
    func staleCancelIsDropped() async throws {
        let connection = try await TestDatabase.connect()
        let pid = try await connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int.self)
        let key = Int.random(in: 1...Int(Int32.max))
        let admin = try await TestDatabase.connect()
        try await admin.query("SELECT pg_advisory_lock(\(key))")

        // Statement N ends; its generation is what a late cancel request would carry.
        try await connection.query("SELECT 1")
        let stale = connection.statementGeneration
        // Statement N+1 blocks on the advisory lock until we release it: it runs as long as we like.
        let next = Task { try await connection.query("SELECT pg_advisory_lock(\(key)), pg_advisory_unlock(\(key))") }
        try await waitUntilRunning(pid: pid, prefix: "SELECT pg_advisory_lock", waitingOnLock: true)
        #expect(connection.statementGeneration == stale + 1)
        // What a cancel queued for N does when the canceller thread gets to it now: nothing.
        let sentStale = try await onOwnThread { connection.sendCancelRequest(generation: stale) }
        #expect(!sentStale)
        try await admin.query("SELECT pg_advisory_unlock(\(key))")
        // N+1 survives (before the fix, the request was sent to the backend and it failed with 57014).
        _ = try await next.value

        // The same call with the running statement's generation does cancel it: the check above is not vacuous.
        try await admin.query("SELECT pg_advisory_lock(\(key))")
        let third = Task { try await connection.query("SELECT pg_advisory_lock(\(key)), pg_advisory_unlock(\(key))") }
        try await waitUntilRunning(pid: pid, prefix: "SELECT pg_advisory_lock", waitingOnLock: true)
        let current = connection.statementGeneration
        #expect(try await onOwnThread { connection.sendCancelRequest(generation: current) })
        let error = try await #require(throws: PostgresError.self) { try await third.value }
        #expect(error.sqlState == "57014")
        try await admin.query("SELECT pg_advisory_unlock(\(key))")
        #expect(try await connection.query("SELECT 1").count == 1)
        await admin.close()
        await connection.close()
    }
}
