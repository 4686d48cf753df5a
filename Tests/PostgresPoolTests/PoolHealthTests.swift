import Foundation
import Postgres
import PostgresPool
import ServiceLifecycle
import TestSupport
import Testing

@Suite("The pool replaces what breaks and shuts down cleanly")
struct PoolHealthTests {
    @Test("a connection returned inside a transaction is closed, not reused")
    func openTransactionIsDiscarded() async throws {
        try await withPool({ $0.maximumConnections = 2 }) { pool in
            let first = try await pool.withConnection { connection in
                try await connection.query("BEGIN")
                return try await connection.query("SELECT pg_backend_pid()").first!.decode(0, as: Int.self)
            }
            #expect(pool.statistics.discarded == 1)
            let second = try await pool.withConnection { connection in
                try await connection.query("SELECT pg_backend_pid()").first!.decode(0, as: Int.self)
            }
            #expect(first != second)
        }
    }

    @Test("a connection whose server refuses writes as read-only (25006) is closed, unless the pool is a replica's")
    func readOnlyServerIsDiscarded() async throws {
        // Every transaction read-only, as on a standby or an old primary after a failover.
        let readOnly = try TestDatabase.url() + "&options=-c%20default_transaction_read_only%3Don"
        try await TestDatabase.withIntegerTable("read_only") { table in
            try await withPool(connection: readOnly, { $0.maximumConnections = 1 }) { pool in
                let refused = try await #require(throws: PostgresError.self) { try await pool.query("INSERT INTO \(identifier: table) VALUES (1)") }
                #expect(refused.sqlState == "25006")
                #expect(pool.statistics.discarded == 1)
                #expect(try await pool.query("SELECT 1").count == 1)  // on a new connection
            }
            try await withPool(connection: readOnly, { $0.maximumConnections = 1; $0.serverMustBeWritable = false }) { pool in
                _ = try await #require(throws: PostgresError.self) { try await pool.query("INSERT INTO \(identifier: table) VALUES (1)") }
                #expect(pool.statistics.discarded == 0)
            }
        }
    }

    @Test("an idle connection killed by the server is replaced before it is lent")
    func terminatedIdleConnectionIsReplaced() async throws {
        try await withPool({ $0.maximumConnections = 1 }) { pool in
            let pid = try await pool.query("SELECT pg_backend_pid()").first!.decode(0, as: Int.self)
            try await TestDatabase.withConnection { admin in
                // With a timeout, it returns once the backend has exited (its socket closed), so the
                // pool's check before lending must see the closed socket; no sleep needed.
                let gone = try await admin.query("SELECT pg_terminate_backend(\(pid)::int4, 60000)")
                #expect(try gone[0].decode(0, as: Bool.self))
            }
            let next = try await pool.query("SELECT pg_backend_pid()").first!.decode(0, as: Int.self)
            #expect(next != pid)
            #expect(pool.statistics.discarded == 1)
        }
    }

    @Test("a connection that breaks mid-query fails that query, and the next one gets a fresh connection")
    func brokenDuringQuery() async throws {
        try await withPool({ $0.maximumConnections = 1 }) { pool in
            let error = try await #require(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    let pid = try await connection.query("SELECT pg_backend_pid()").first!.decode(0, as: Int.self)
                    _ = try await TestDatabase.withConnection { admin in
                        try await admin.query("SELECT pg_terminate_backend(\(pid)::int4)")
                    }
                    try await connection.query("SELECT 1")
                }
            }
            #expect(error.isConnectionError)
            #expect(try await pool.query("SELECT 1").count == 1)
        }
    }

    @Test("expired and idle connections are closed by maintenance, down to the minimum")
    func lifetimeAndIdleTimeout() async throws {
        try await withPool({
            $0.maximumConnections = 4
            $0.minimumConnections = 1
            $0.idleTimeout = .milliseconds(100)
            $0.maintenanceInterval = .milliseconds(20)
        }) { pool in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await pool.query("SELECT pg_sleep(0.05)") } }
                try await group.waitForAll()
            }
            #expect(pool.statistics.open >= 2)
            let runner = Task { try await pool.run() }
            #expect(await eventually { pool.statistics.open == 1 })
            runner.cancel()
            _ = await runner.result
        }
    }

    @Test("run() opens the minimum, and graceful shutdown lets leases finish then refuses new ones")
    func gracefulShutdown() async throws {
        let connection = try PostgresConfiguration(connectionString: try TestDatabase.url())
        var configuration = PostgresPoolConfiguration()
        configuration.minimumConnections = 2
        configuration.maximumConnections = 4
        configuration.shutdownGracePeriod = .seconds(5)
        let pool = PostgresPool(configuration: configuration, connection: connection, logger: TestDatabase.logger)
        let group = ServiceGroup(services: [pool], logger: TestDatabase.logger)
        let running = Task { try await group.run() }
        #expect(await eventually { pool.statistics.open == 2 })

        let lease = Task {
            try await pool.withConnection { connection in
                try await connection.query("SELECT pg_sleep(0.5)")
                return "finished"
            }
        }
        #expect(await eventually { pool.statistics.inUse == 1 })
        await group.triggerGracefulShutdown()
        #expect(try await lease.value == "finished")
        try await running.value
        await #expect(throws: PostgresPoolError.shuttingDown) { try await pool.query("SELECT 1") }
        #expect(pool.statistics.open == 0)
    }
}
