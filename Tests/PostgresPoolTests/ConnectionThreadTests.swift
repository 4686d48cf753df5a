import Foundation
@testable import Postgres
import PostgresPool
import TestSupport
import Testing

/// An actor, to call the pool from an isolated context.
private actor IsolatedCaller {
    func selectMany(_ pool: PostgresPool, count: Int) async throws -> (before: Int, after: Int) {
        try await pool.withConnection { connection in
            let before = connection.threadHops
            for value in 0..<count {
                let rows = try await connection.query("SELECT \(value)::int4")
                #expect(try rows[0].decode(0, as: Int.self) == value)
            }
            return (before, connection.threadHops)
        }
    }
}

@Suite("Each connection is driven by its own thread")
struct ConnectionThreadTests {
    @Test("a lease's statements run on the connection's thread: no hop per statement")
    func noHopInsideALease() async throws {
        try await withPool { pool in
            let (before, after) = try await pool.withConnection { connection in
                let before = connection.threadHops
                for value in 0..<50 {
                    let rows = try await connection.query("SELECT \(value)::int4")
                    #expect(try rows[0].decode(0, as: Int.self) == value)
                }
                try await connection.withTransaction { try await $0.query("SELECT 1") }
                return (before, connection.threadHops)
            }
            #expect(after == before)
        }
    }

    @Test("a caller isolated to a (default) actor runs on the connection's thread too: no hop")
    func actorCallersDoNotHop() async throws {
        try await withPool { pool in
            let (before, after) = try await IsolatedCaller().selectMany(pool, count: 20)
            #expect(after == before)
        }
    }

    @Test("a connection used outside a lease hops to its thread for each statement")
    func bareConnectionHops() async throws {
        try await TestDatabase.withConnection { connection in
            let before = connection.threadHops
            for value in 0..<20 {
                let rows = try await connection.query("SELECT \(value)::int4")
                #expect(try rows[0].decode(0, as: Int.self) == value)
            }
            #expect(connection.threadHops - before == 20)
        }
    }

    @Test("tasks sharing one connection are run one at a time by its thread, never two in libpq at once")
    func sharedConnectionIsSerialized() async throws {
        try await TestDatabase.withConnection { connection in
            let pid = try await connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<16 {
                    group.addTask {
                        // Detached from any executor preference: every call hops to the thread.
                        try await Task.detached {
                            for round in 0..<25 {
                                let value = task * 100 + round
                                let rows = try await connection.query("SELECT \(value)::int4, pg_backend_pid()")
                                #expect(try rows[0].decode(0, as: Int.self) == value)
                                #expect(try rows[0].decode(1, as: Int.self) == pid)
                            }
                        }.value
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
