import Postgres
import PostgresPool

/// Loading rows with COPY: the measured COPY workload and the SELECT pre-load.
enum BenchData {
    /// Streams `rows` rows of (payload, n) into `table` with one `copyFrom` call; returns the copied count.
    static func copy(rows: Int, into table: String, on connection: PostgresConnection) async throws -> Int {
        let payload = BenchSchema.payload
        return try await connection.copyFrom(table: table, columns: ["payload", "n"]) { writer in
            for index in 0..<rows {
                try await writer.appendRow([payload, String(index % Int(BenchSchema.maximumN) + 1)])
            }
        }
    }

    /// Makes sure `bench_items` holds at least `rows` rows (topping it up with COPY), vacuums and
    /// analyses it, and returns the page starts that always yield 50 rows: the first `rows` ids.
    static func prepareSelectTable(rows: Int, pool: PostgresPool) async throws -> ClosedRange<Int64> {
        try await pool.withConnection { connection in
            let before = try await connection.query("SELECT count(*) FROM bench_items")
            let existing = try before[0].decode(0, as: Int64.self)
            if existing < rows {
                let missing = rows - Int(existing)
                progress("pre-loading \(missing) rows into bench_items with COPY")
                _ = try await copy(rows: missing, into: BenchSchema.itemsTable, on: connection)
            }
            try await connection.query("VACUUM (ANALYZE) bench_items")
            let bounds = try await connection.query("SELECT min(id), max(id) FROM bench_items")
            let (first, last) = try bounds[0].decode((Int64, Int64).self)
            // ids are dense (bigserial, no rollbacks); a page from `start` returns ids start+1 … start+50.
            let lastStart = first + Int64(rows) - 51
            guard last - first + 1 >= rows, lastStart >= first else {
                throw BenchFailure("bench_items ids \(first)…\(last) are not dense enough for \(rows)-row pages")
            }
            return first...lastStart
        }
    }
}

/// A bench-specific failure with a plain message.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
