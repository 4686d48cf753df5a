import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Prepared statements inside pipelines")
struct PipelinePreparedTests {
    func prepared(_ sql: String, on connection: PostgresConnection) async throws -> Int {
        try await connection.query("SELECT count(*) FROM pg_prepared_statements WHERE statement = \(sql)")[0]
            .decode(0, as: Int.self)
    }

    @Test("a pipeline prepares each distinct statement once, by name, and the next pipeline reuses it")
    func preparedOnceAndReused() async throws {
        try await TestDatabase.withConnection { connection in
            let sql = "SELECT $1::int4 * 2"
            let queries: [PostgresQuery] = (1...300).map { "SELECT \($0)::int4 * 2" }
            let first = try await connection.pipeline(queries)
            #expect(try first.map { try $0[0].decode(0, as: Int.self) } == (1...300).map { $0 * 2 })
            #expect(try await prepared(sql, on: connection) == 1)
            let again = try await connection.pipeline(["SELECT \(7)::int4 * 2", "SELECT 'other'"])
            #expect(try again[0][0].decode(0, as: Int.self) == 14)
            #expect(try await prepared(sql, on: connection) == 1)
            #expect(try await prepared("SELECT 'other'", on: connection) == 1)
        }
    }

    @Test("a statement that fails to prepare names its index, is not cached, and the connection goes on")
    func failedPrepare() async throws {
        try await TestDatabase.withConnection { connection in
            let error = await #expect(throws: PostgresError.self) {
                try await connection.pipeline(["SELECT 1", "SELEC broken", "SELECT 2"])
            }
            #expect(error?.statementIndex == 1)
            #expect(error?.sqlState == "42601")
            #expect(try await prepared("SELEC broken", on: connection) == 0)
            let rows = try await connection.pipeline(["SELECT 1", "SELECT 2"])
            #expect(try rows.map { try $0[0].decode(0, as: Int.self) } == [1, 2])
            #expect(connection.isReusable)
        }
    }

    @Test("with prepared statements off, a pipeline prepares nothing")
    func unnamedWhenOff() async throws {
        try await TestDatabase.withConnection({ $0.usePreparedStatements = false }) { connection in
            _ = try await connection.pipeline(["SELECT \(1)::int4 + 40"])
            #expect(try await prepared("SELECT $1::int4 + 40", on: connection) == 0)
        }
    }
}
