import Foundation
@testable import Postgres
import TestSupport
import Testing

/// `sendAfterNextStatements`: a statement that rides behind the next round trip's statements,
/// as an admin read's audit entry rides behind the read.
@Suite("Statements queued to follow the next round trip")
struct StatementsAfterTests {
    func withTable(_ body: (String) async throws -> Void) async throws {
        try await TestDatabase.withIntegerTable("after", body)
    }

    func values(_ table: String) async throws -> [Int] {
        try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT n FROM \(identifier: table) ORDER BY n").map { try $0.decode(0, as: Int.self) }
        }
    }

    @Test("it travels in the next statement's round trip, after it, and is committed when that returns")
    func travelsWithTheNextStatement() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                try await connection.sendAfterNextStatements("INSERT INTO \(identifier: table) SELECT count(*) + 10 FROM \(identifier: table)")
                let before = connection.statementGeneration
                let rows = try await connection.query("INSERT INTO \(identifier: table) VALUES (1) RETURNING n")
                #expect(connection.statementGeneration - before == 1)
                #expect(try rows[0].decode(0, as: Int.self) == 1)  // the rows are the statement's own
                #expect(try await values(table) == [1, 11])  // committed, and it ran after the INSERT
                #expect(connection.isReusable)
            }
        }
    }

    @Test("if it fails, the round trip throws and the statement before it is rolled back too")
    func failureFailsTheRoundTrip() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                try await connection.sendAfterNextStatements("SELECT 1/0")
                let error = try await #require(throws: PostgresError.self) {
                    try await connection.query("INSERT INTO \(identifier: table) VALUES (1)")
                }
                #expect(error.sqlState == "22012")
                #expect(error.statementIndex == nil)  // not one of the caller's statements
                #expect(try await values(table).isEmpty)
                #expect(connection.isReusable)
                // Sent once: the next statement goes alone.
                try await connection.query("INSERT INTO \(identifier: table) VALUES (2)")
                #expect(try await values(table) == [2])
            }
        }
    }

    @Test("behind a pipeline that commits its own transaction, it still runs before the pipeline returns")
    func afterAnExplicitCommit() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                try await connection.sendAfterNextStatements("INSERT INTO \(identifier: table) VALUES (20)")
                let results = try await connection.pipeline([
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "SELECT count(*) FROM \(identifier: table)", "COMMIT",
                ])
                #expect(results.count == 3)
                #expect(try results[1][0].decode(0, as: Int.self) == 0)
                #expect(try await values(table) == [20])
            }
        }
    }

    @Test("inside withTransaction it goes with BEGIN and the first statement, and commits with the transaction")
    func insideATransaction() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                try await connection.withTransaction { connection in
                    try await connection.sendAfterNextStatements("INSERT INTO \(identifier: table) VALUES (30)")
                    try await connection.query("INSERT INTO \(identifier: table) VALUES (3)")
                    #expect(try await values(table).isEmpty)  // not committed yet
                }
                #expect(try await values(table) == [3, 30])
            }
        }
    }

    @Test("sendQueuedStatements sends what no round trip took, and dropQueuedStatements forgets it")
    func sendAndDrop() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                try await connection.sendAfterNextStatements("INSERT INTO \(identifier: table) VALUES (4)")
                try await connection.sendQueuedStatements()
                #expect(try await values(table) == [4])
                try await connection.sendAfterNextStatements("INSERT INTO \(identifier: table) VALUES (5)")
                await connection.dropQueuedStatements()
                try await connection.query("SELECT 1")
                try await connection.sendQueuedStatements()
                #expect(try await values(table) == [4])
            }
        }
    }
}
