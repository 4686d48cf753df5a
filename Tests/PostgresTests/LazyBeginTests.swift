import Foundation
@testable import Postgres
import TestSupport
import Testing

@Suite("A transaction's BEGIN travels with its first statement")
struct LazyBeginTests {
    func withTable(_ body: (String) async throws -> Void) async throws {
        try await TestDatabase.withIntegerTable("lazy", body)
    }

    func visibleCount(_ table: String) async throws -> Int {
        try await TestDatabase.withConnection { try await $0.query("SELECT count(*) FROM \(identifier: table)")[0].decode(0, as: Int.self) }
    }

    @Test("one call to the server for BEGIN and the first statement, and the transaction is real")
    func oneCallAndStillATransaction() async throws {
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                let before = connection.statementGeneration
                try await connection.withTransaction { connection in
                    try await connection.query("INSERT INTO \(identifier: table) VALUES (1)")
                    #expect(connection.statementGeneration - before == 1)  // not BEGIN, then INSERT
                    #expect(try await visibleCount(table) == 0)  // inside BEGIN … not yet committed
                }
                #expect(try await visibleCount(table) == 1)
            }
        }
    }

    @Test("a pipeline or a COPY first carries the BEGIN too, and a failure rolls everything back")
    func pipelineAndCopyFirst() async throws {
        struct Boom: Error {}
        try await withTable { table in
            try await TestDatabase.withConnection { connection in
                let failing = try await #require(throws: PostgresError.self) {
                    try await connection.withTransaction { connection in
                        _ = try await connection.pipeline(["INSERT INTO \(identifier: table) VALUES (1)", "SELECT 1/0"])
                    }
                }
                #expect(failing.statementIndex == 1)
                await #expect(throws: Boom.self) {
                    try await connection.withTransaction { connection in
                        _ = try await connection.copyFrom(table: table, columns: ["n"]) { try await $0.appendRow(["2"]) }
                        throw Boom()
                    }
                }
                #expect(try await visibleCount(table) == 0)
                #expect(connection.isReusable)
            }
        }
    }

    @Test("a body that runs no statement sends nothing, and one that throws first leaves the connection idle")
    func nothingSent() async throws {
        struct Boom: Error {}
        try await TestDatabase.withConnection { connection in
            let before = connection.statementGeneration
            let value = try await connection.withTransaction { _ in 42 }
            #expect(value == 42 && connection.statementGeneration == before)
            await #expect(throws: Boom.self) { try await connection.withTransaction { _ in throw Boom() } }
            #expect(connection.isReusable)
            let status = try await connection.query("SELECT 1")
            #expect(try status[0].decode(0, as: Int.self) == 1)
            #expect(connection.isReusable)
        }
    }
}
