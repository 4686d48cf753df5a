import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Transactions, cancellation and timeouts")
struct TransactionTests {
    struct Boom: Error {}

    /// Creates a real table (visible to other connections), runs `body`, drops it.
    func withTable(_ body: (String) async throws -> Void) async throws {
        let table = TestDatabase.uniqueName("tx")
        _ = try await TestDatabase.withConnection { try await $0.query("CREATE TABLE \(identifier: table) (n int NOT NULL)") }
        do {
            try await body(table)
        } catch {
            _ = try? await TestDatabase.withConnection { try await $0.query("DROP TABLE \(identifier: table)") }
            throw error
        }
        _ = try await TestDatabase.withConnection { try await $0.query("DROP TABLE \(identifier: table)") }
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

    @Test("cancelling pg_sleep(60) returns long before it would end and leaves the connection usable")
    func cancelsRunningQuery() async throws {
        let connection = try await TestDatabase.connect()
        let started = ContinuousClock.now
        let task = Task { try await connection.query("SELECT pg_sleep(60)") }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The statement would sleep 60 s. Usually it is back within milliseconds; the bound only
        // proves the cancel, with room for a machine saturated by the rest of the suite (a
        // full run once took 7 s here, while other tests loaded the database).
        #expect(ContinuousClock.now - started < .seconds(30))
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
