import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Pipeline mode and COPY")
struct PipelineAndCopyTests {
    func withTable(_ columns: String, _ body: (String, PostgresConnection) async throws -> Void) async throws {
        let table = TestDatabase.uniqueName("bulk")
        try await TestDatabase.withConnection { connection in
            try await connection.query("CREATE TABLE \(identifier: table) (\(unsafeColumns: columns))")
            do {
                try await body(table, connection)
            } catch {
                _ = try? await connection.query("DROP TABLE \(identifier: table)")
                throw error
            }
            try await connection.query("DROP TABLE \(identifier: table)")
        }
    }

    func count(_ table: String, _ connection: PostgresConnection) async throws -> Int {
        try await connection.query("SELECT count(*) FROM \(identifier: table)").first!.decode(0, as: Int.self)
    }

    @Test("1000 pipelined inserts arrive, with one result per statement")
    func pipelinedInserts() async throws {
        try await withTable("n int PRIMARY KEY, body text") { table, connection in
            let queries: [PostgresQuery] = (1...1000).map {
                "INSERT INTO \(identifier: table) (n, body) VALUES (\($0), \("row \($0)")) RETURNING n"
            }
            let results = try await connection.pipeline(queries)
            #expect(results.count == 1000)
            #expect(try results[999].first?.decode(0, as: Int.self) == 1000)
            #expect(results.allSatisfy { $0.affectedRows == 1 })
            #expect(try await count(table, connection) == 1000)
            #expect(connection.isReusable)
        }
    }

    @Test("a bad row rolls back its whole batch and names the failed statement", arguments: [0, 130, 499])
    func badRowRollsBack(_ badIndex: Int) async throws {
        try await withTable("n int PRIMARY KEY CONSTRAINT positive CHECK (n > 0)") { table, connection in
            let queries: [PostgresQuery] = (0..<500).map { index in
                let value = index == badIndex ? -1 : index + 1
                return "INSERT INTO \(identifier: table) (n) VALUES (\(value))"
            }
            let error = try await #require(throws: PostgresError.self) { try await connection.pipeline(queries) }
            #expect(error.statementIndex == badIndex)
            #expect(error.sqlState == "23514")
            #expect(error.constraint == "positive")
            #expect(try await count(table, connection) == 0)
            #expect(connection.isReusable)
            // And the connection pipelines again afterwards.
            _ = try await connection.pipeline(["INSERT INTO \(identifier: table) (n) VALUES (\(1))"])
            #expect(try await count(table, connection) == 1)
        }
    }

    @Test("COPY streams many rows and escapes text exactly")
    func copy() async throws {
        try await withTable("n int, body text, note text") { table, connection in
            let tricky = "tab\there\nnewline \\backslash \\N not null \r ✓"
            let copied = try await connection.copyFrom(table: table, columns: ["n", "body", "note"]) { writer in
                for index in 0..<20_000 {
                    try await writer.appendRow([String(index), index == 7 ? tricky : "row \(index)", index % 2 == 0 ? nil : "odd"])
                }
            }
            #expect(copied == 20_000)
            #expect(try await count(table, connection) == 20_000)
            let row = try #require(try await connection.query("SELECT body, note FROM \(identifier: table) WHERE n = 7").first)
            #expect(try row.decode(0, as: String.self) == tricky)
            #expect(try row.decode(1, as: String.self) == "odd")
            let nulls = try await connection.query("SELECT count(*) FROM \(identifier: table) WHERE note IS NULL")
            #expect(try nulls[0].decode(0, as: Int.self) == 10_000)
        }
    }

    @Test("a COPY whose writer throws inserts nothing; a bad value is a server error")
    func copyFailure() async throws {
        struct Stop: Error {}
        try await withTable("n int NOT NULL") { table, connection in
            await #expect(throws: Stop.self) {
                _ = try await connection.copyFrom(table: table, columns: ["n"]) { writer in
                    for index in 0..<100_000 { try await writer.appendRow([String(index)]) }
                    throw Stop()
                }
            }
            #expect(try await count(table, connection) == 0)
            let error = try await #require(throws: PostgresError.self) {
                _ = try await connection.copyFrom(table: table, columns: ["n"]) { writer in
                    try await writer.appendRow(["1"])
                    try await writer.appendRow(["not a number"])
                }
            }
            #expect(error.code == .copyFailed)
            #expect(error.sqlState == "22P02")
            #expect(try await count(table, connection) == 0)
            #expect(connection.isReusable)
        }
    }

    @Test("COPY TO STDOUT and COPY FROM STDIN through query() fail clearly instead of hanging; the connection stays usable")
    func copyThroughQuery() async throws {
        try await withTable("n int") { table, connection in
            let statements: [PostgresQuery] = [
                "COPY (SELECT generate_series(1, 100000)) TO STDOUT",
                "COPY \(identifier: table) FROM STDIN",
                "COPY (SELECT 1) TO STDOUT",
            ]
            for statement in statements {
                let task = Task { try await connection.query(statement) }
                let error = try await #require(throws: PostgresError.self, "\(statement)") {
                    try await valueWithHangGuard(of: task)
                }
                #expect(error.code == .protocolViolation)
                #expect(connection.isReusable)
                #expect(try await connection.query("SELECT 1").count == 1)
            }
            #expect(try await count(table, connection) == 0)
        }
    }
}

struct HangGuardExpired: Error {}

/// `task`'s value, or `HangGuardExpired` if it has not finished after `limit`: a guard against a
/// hang (the test fails instead of never ending), far above what a loaded machine needs.
func valueWithHangGuard<Value: Sendable>(of task: Task<Value, any Error>, limit: Duration = .seconds(120)) async throws
    -> Value
{
    let resumed = Locked(false)
    return try await withCheckedThrowingContinuation { continuation in
        @Sendable func finish(_ result: Result<Value, any Error>) {
            if resumed.withLock({ done in defer { done = true }; return !done }) { continuation.resume(with: result) }
        }
        let timer = Task {
            try await Task.sleep(for: limit)
            finish(.failure(HangGuardExpired()))
        }
        Task {
            finish(await task.result)
            timer.cancel()
        }
    }
}

extension PostgresQuery.StringInterpolation {
    /// Test-only: a column list written by the test itself.
    mutating func appendInterpolation(unsafeColumns text: String) { appendLiteral(text) }
}
