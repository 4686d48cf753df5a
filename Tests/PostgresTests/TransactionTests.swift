import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Transactions, cancellation and timeouts")
struct TransactionTests {
    struct Boom: Error {}

    func withTable(_ body: (String) async throws -> Void) async throws {
        try await TestDatabase.withIntegerTable("tx", body)
    }

    func count(_ table: String) async throws -> Int {
        try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT count(*) FROM \(identifier: table)").first!.decode(0, as: Int.self)
        }
    }

    @Test("commit on return: another connection sees the rows at once")
    func commits() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                let value = try await connection.withTransaction { transaction in
                    try await transaction.query("INSERT INTO \(identifier: table) VALUES (1), (2)")
                    return 7
                }
                #expect(value == 7)
                #expect(connection.isReusable)
            }
            #expect(try await count(table) == 2)
        }
    }

    @Test("rollback on throw")
    func rollsBackOnThrow() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                await #expect(throws: Boom.self) {
                    try await connection.withTransaction { transaction in
                        try await transaction.query("INSERT INTO \(identifier: table) VALUES (1)")
                        throw Boom()
                    }
                }
                #expect(connection.isReusable)
            }
            #expect(try await count(table) == 0)
        }
    }

    @Test("a failed statement whose error the body swallowed makes withTransaction throw: COMMIT rolled back")
    func swallowedFailureIsNotACommit() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                let error = try await #require(throws: PostgresError.self) {
                    try await connection.withTransaction { transaction in
                        try await transaction.query("INSERT INTO \(identifier: table) VALUES (1)")
                        do {
                            try await transaction.query("INSERT INTO \(identifier: table) VALUES (NULL)")
                        } catch {
                            // Swallowed: the transaction is aborted, yet the body returns normally.
                        }
                        return 1
                    }
                }
                #expect(error.code == .transactionRolledBack)
                #expect(connection.isReusable)
            }
            #expect(try await count(table) == 0)
        }
    }

    @Test("rollback on task cancellation")
    func rollsBackOnCancellation() async throws {
        try await withTable { table in
            let connection = try await TestDatabase.connect()
            let inserted = AsyncStream<Void>.makeStream()
            let task = Task {
                try await connection.withTransaction { transaction in
                    try await transaction.query("INSERT INTO \(identifier: table) VALUES (1)")
                    inserted.continuation.yield()
                    try await transaction.query("SELECT pg_sleep(10)")
                }
            }
            for await _ in inserted.stream { break }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(connection.isReusable)
            await connection.close()
            #expect(try await count(table) == 0)
        }
    }

    @Test("cancelling a running pg_sleep(60) cancels it on the server (57014) and leaves the connection usable")
    func cancelsRunningQuery() async throws {
        let failures = Locked<[PostgresError?]>([])
        let connection = try await TestDatabase.connect { configuration in
            configuration.observer = { _, error in failures.withLock { $0.append(error) } }
        }
        let pid = try await connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int.self)
        let task = Task { try await connection.query("SELECT pg_sleep(60)") }
        // Only once the server runs it: the cancel must travel, not short-circuit on the client.
        try await waitUntilRunning(pid: pid, prefix: "SELECT pg_sleep")
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The statement ran and PostgreSQL ended it with query_canceled: the CancellationError
        // comes from 57014, not from a statement that was never started.
        #expect(failures.value.count == 2)
        #expect(failures.value.last??.sqlState == "57014")
        #expect(connection.isReusable)
        #expect(try await connection.query("SELECT 1").count == 1)
        await connection.close()
    }

    @Test("a task cancelled before it starts a query never runs it")
    func cancelledBeforeStart() async throws {
        try await withTable { table in
            let connection = try await TestDatabase.connect()
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await connection.query("INSERT INTO \(identifier: table) VALUES (1)")
            }
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await connection.query("SELECT 1").count == 1)
            await connection.close()
            #expect(try await count(table) == 0)
        }
    }

    @Test("statement_timeout is a backstop and stays a PostgresError (57014)")
    func statementTimeout() async throws {
        let connection = try await TestDatabase.connect { $0.statementTimeout = .milliseconds(200) }
        let error = try await #require(throws: PostgresError.self) {
            try await connection.query("SELECT pg_sleep(5)")
        }
        #expect(error.sqlState == "57014")
        #expect(try await connection.query("SELECT 1").count == 1)
        await connection.close()
    }

    @Test("a connection left inside a transaction is not reusable")
    func openTransactionIsNotReusable() async throws {
        try await TestDatabase.withConnection { connection in
            try await connection.query("BEGIN")
            #expect(!connection.isReusable)
            try await connection.query("ROLLBACK")
            #expect(connection.isReusable)
        }
    }

    @Test("prepared statements give the same answers as unnamed ones")
    func preparedStatements() async throws {
        try await TestDatabase.withConnection({ $0.usePreparedStatements = true }) { connection in
            for value in 0..<5 {
                let row = try #require(try await connection.query("SELECT \(value) + 1, \("x")").first)
                #expect(try row.decode((Int, String).self) == (value + 1, "x"))
            }
            let prepared = try await connection.query(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = \("SELECT $1 + 1, $2")")
            #expect(try prepared[0].decode(0, as: Int.self) == 1)
        }
    }
}
