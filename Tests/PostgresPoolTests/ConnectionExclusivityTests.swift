import Foundation
@testable import Postgres
import PostgresPool
import TestSupport
import Testing

/// An actor, to call the pool from an isolated context.
private actor IsolatedCaller {
    func selectMany(_ pool: PostgresPool, count: Int) async throws {
        try await pool.withConnection { connection in
            for value in 0..<count {
                let rows = try await connection.query("SELECT \(value)::int4")
                #expect(try rows[0].decode(0, as: Int.self) == value)
            }
        }
    }
}

/// Waits, through `admin`, until backend `pid` waits on a lock (a hang guard only bounds it).
private func waitUntilBlocked(pid: Int, admin: PostgresConnection) async throws {
    let blocked = try await waitUntil(every: .milliseconds(5)) {
        let rows = try await admin.query(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid)::int4 AND state = 'active' AND wait_event_type = 'Lock'")
        return try rows[0].decode(0, as: Int.self) == 1
    }
    #expect(blocked, "backend \(pid) never waited on the lock")
}

@Suite("A connection serves one operation at a time")
struct ConnectionExclusivityTests {
    @Test("inside a lease, sequential statements and a transaction run as usual")
    func sequentialInsideALease() async throws {
        try await withPool { pool in
            try await pool.withConnection { connection in
                for value in 0..<50 {
                    let rows = try await connection.query("SELECT \(value)::int4")
                    #expect(try rows[0].decode(0, as: Int.self) == value)
                }
                _ = try await connection.withTransaction { try await $0.query("SELECT 1") }
                #expect(connection.isReusable)
            }
        }
    }

    @Test("a caller isolated to a (default) actor uses a lease as usual")
    func actorCaller() async throws {
        try await withPool { pool in try await IsolatedCaller().selectMany(pool, count: 20) }
    }

    @Test("while a statement runs, every other operation throws concurrentUse and sends nothing")
    func operationsDuringAStatement() async throws {
        let connection = try await TestDatabase.connect()
        let admin = try await TestDatabase.connect()
        let pid = try await connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int.self)
        let key = Int.random(in: 1...Int(Int32.max))
        try await admin.query("SELECT pg_advisory_lock(\(key))")
        let running = Task { try await connection.query("SELECT pg_advisory_lock(\(key)), pg_advisory_unlock(\(key))") }
        try await waitUntilBlocked(pid: pid, admin: admin)
        let generation = connection.statementGeneration

        func expectConcurrentUse(_ name: String, _ operation: () async throws -> Void) async {
            let error = await #expect(throws: PostgresError.self, "\(name)") { try await operation() }
            #expect(error?.code == .concurrentUse, "\(name)")
        }
        await expectConcurrentUse("query") { try await connection.query("SELECT 1") }
        await expectConcurrentUse("pipeline") { _ = try await connection.pipeline(["SELECT 1", "SELECT 2"]) }
        await expectConcurrentUse("copyFrom") {
            _ = try await connection.copyFrom(table: "nowhere", columns: ["n"]) { try await $0.appendRow(["1"]) }
        }
        await expectConcurrentUse("withTransaction") { try await connection.withTransaction { _ in } }
        await expectConcurrentUse("sendAfterNextStatements") { try await connection.sendAfterNextStatements("SELECT 1") }
        await expectConcurrentUse("sendQueuedStatements") { try await connection.sendQueuedStatements() }
        #expect(!connection.isReusable)  // in use: not to be lent
        #expect(connection.statementGeneration == generation)  // none of them started a statement

        try await admin.query("SELECT pg_advisory_unlock(\(key))")
        _ = try await running.value
        #expect(connection.isReusable)
        #expect(try await connection.query("SELECT 41 + 1")[0].decode(0, as: Int.self) == 42)
        await admin.close()
        await connection.close()
    }

    @Test("16 detached tasks driving one connection: each call succeeds or throws concurrentUse, and the connection stays consistent")
    func sharedConnectionRefusesConcurrentCalls() async throws {
        try await TestDatabase.withConnection { connection in
            let pid = try await connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int.self)
            let before = connection.statementGeneration
            let (succeeded, refused) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for task in 0..<16 {
                    group.addTask {
                        try await Task.detached {
                            var counts = (0, 0)
                            for round in 0..<25 {
                                let value = task * 100 + round
                                do {
                                    let rows = try await connection.query("SELECT \(value)::int4, pg_backend_pid()")
                                    #expect(try rows[0].decode(0, as: Int.self) == value)
                                    #expect(try rows[0].decode(1, as: Int.self) == pid)
                                    counts.0 += 1
                                } catch let error as PostgresError where error.code == .concurrentUse {
                                    counts.1 += 1
                                }
                            }
                            return counts
                        }.value
                    }
                }
                return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            }
            #expect(succeeded + refused == 16 * 25)
            #expect(succeeded > 0)
            // Only the calls that got the connection started a statement.
            #expect(connection.statementGeneration - before == UInt64(succeeded))
            #expect(connection.isReusable)
            for value in 0..<5 {
                #expect(try await connection.query("SELECT \(value)::int4")[0].decode(0, as: Int.self) == value)
            }
        }
    }
}
