import Postgres
import TestSupport
import Testing

/// The per-connection cache of named statements: on by default, bounded, and recovering from a
/// schema change that alters a statement's result type.
@Suite("Prepared statements")
struct PreparedStatementTests {
    func preparedCount(_ connection: PostgresConnection) async throws -> Int {
        try await connection.query("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'rs\\_%'")[0].decode(0, as: Int.self)
    }

    @Test("statements are prepared by default, once each")
    func preparedByDefault() async throws {
        try await TestDatabase.withConnection { connection in
            for value in 0..<3 { try await connection.query("SELECT \(value) + 1") }
            // The counting statement is itself prepared: two in all.
            #expect(try await preparedCount(connection) == 2)
        }
    }

    @Test("beyond the bound the least recently used statement is deallocated")
    func bounded() async throws {
        try await TestDatabase.withConnection({ $0.maximumPreparedStatements = 3 }) { connection in
            try await connection.query("SELECT 1")
            for value in 2...6 {
                try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(value)"))
                try await connection.query("SELECT 1")  // kept: always recently used
            }
            let names = try await connection.query("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'rs\\_%' ORDER BY statement")
                .map { try $0.decode(0, as: String.self) }
            #expect(names.count == 3, "\(names)")
            #expect(names.contains("SELECT 1") && names.contains("SELECT 6"), "\(names)")
        }
    }

    @Test("a schema change that alters a statement's result type: re-prepared once, or, in a transaction, the error and then a fresh statement")
    func resultTypeChange() async throws {
        let table = TestDatabase.uniqueName("prepared_shape")
        try await TestDatabase.withConnection { connection in
            try await connection.query("CREATE TABLE \(identifier: table) (a integer)")
            try await connection.query("INSERT INTO \(identifier: table) VALUES (1)")
            let select = PostgresQuery(unsafeSQL: "SELECT * FROM \(PostgresQuery.quoteIdentifier(table))")
            #expect(try await connection.query(select).columns.count == 1)

            try await connection.query("ALTER TABLE \(identifier: table) ADD COLUMN b text DEFAULT 'x'")
            let rows = try await connection.query(select)
            #expect(rows.columns.count == 2)
            #expect(try rows[0].decode(1, as: String.self) == "x")

            try await connection.query("ALTER TABLE \(identifier: table) ADD COLUMN c text")
            try await connection.query("BEGIN")
            let error = try await #require(throws: PostgresError.self) { try await connection.query(select) }
            #expect(error.sqlState == "0A000")
            try await connection.query("ROLLBACK")
            #expect(try await connection.query(select).columns.count == 3)
            try await connection.query("DROP TABLE \(identifier: table)")
            // The outdated statements were deallocated, not left behind.
            let stale = try await connection.query(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = \(select.sql)")[0].decode(0, as: Int.self)
            #expect(stale == 1)
        }
    }
}
