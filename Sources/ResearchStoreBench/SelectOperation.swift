import Foundation
import Postgres
import PostgresPool

/// A 50-row page from a random start: `SELECT id, payload, n, created_at FROM bench_items
/// WHERE id > $1 ORDER BY id LIMIT 50`. Every column of every row is decoded.
struct SelectOperation: BenchOperation {
    /// Where the page may start, so that every page has 50 rows.
    let starts: ClosedRange<Int64>

    func run(on pool: PostgresPool, random: inout SplitMix64) async throws -> OperationOutcome {
        let start = Int64.random(in: starts, using: &random)
        let rows = try await pool.query(
            "SELECT id, payload, n, created_at FROM bench_items WHERE id > \(start) ORDER BY id LIMIT 50")
        var checksum = 0
        for row in rows {
            let (id, payload, n, createdAt) = try row.decode((Int64, String, Int32, Date).self)
            checksum &+= Int(truncatingIfNeeded: id) &+ payload.utf8.count &+ Int(n)
                &+ Int(createdAt.timeIntervalSince1970)
        }
        return OperationOutcome(rows: rows.count, checksum: checksum)
    }
}
