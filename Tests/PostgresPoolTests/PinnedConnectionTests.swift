import Foundation
import Postgres
import PostgresPool
import TestSupport
import Testing

/// `withPinnedConnection`, and what a lease does with statements still queued to follow.
@Suite("Pinned connections and queued statements")
struct PinnedConnectionTests {
    @Test("every pool call inside withPinnedConnection uses its connection, each committing on its own")
    func pinned() async throws {
        try await withPool({ $0.maximumConnections = 4 }) { pool in
            try await pool.withPinnedConnection { connection in
                let backend = try await connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
                #expect(try await pool.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self) == backend)
                #expect(!pool.isInSharedTransaction)
                let xact: PostgresQuery = "SELECT txid_current()"
                try await pool.withTransaction { (inner: PostgresConnection) async throws in
                    #expect(try await inner.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self) == backend)
                    let first = try await inner.query(xact)[0].decode(0, as: Int64.self)
                    #expect(try await inner.query(xact)[0].decode(0, as: Int64.self) == first)  // one transaction
                }
                // Outside it, each call is a transaction of its own.
                let first = try await pool.query(xact)[0].decode(0, as: Int64.self)
                #expect(try await pool.query(xact)[0].decode(0, as: Int64.self) != first)
            }
        }
    }

    @Test("a lease that ends with a statement still queued sends it; a failed lease drops it")
    func leaseEnds() async throws {
        struct Boom: Error {}
        try await TestDatabase.withIntegerTable("pinned") { table in
            try await withPool({ $0.maximumConnections = 1 }) { pool in
                try await pool.withConnection { try await $0.sendAfterNextStatements("INSERT INTO \(identifier: table) VALUES (1)") }
                await #expect(throws: Boom.self) {
                    try await pool.withConnection { connection in
                        try await connection.sendAfterNextStatements("INSERT INTO \(identifier: table) VALUES (2)")
                        throw Boom()
                    }
                }
                _ = try await pool.query("SELECT 1")  // the same, only connection: it must not carry the dropped one
                let values = try await pool.query("SELECT n FROM \(identifier: table) ORDER BY n").map { try $0.decode(0, as: Int.self) }
                #expect(values == [1])
            }
        }
    }
}
