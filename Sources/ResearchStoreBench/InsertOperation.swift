import Postgres
import PostgresPool

/// A single-row INSERT: `INSERT INTO bench_items (payload, n) VALUES ($1, $2)`.
struct InsertOperation: BenchOperation {
    let payload: String

    func run(on pool: PostgresPool, random: inout SplitMix64) async throws -> OperationOutcome {
        let n = Int32.random(in: 1...BenchSchema.maximumN, using: &random)
        let result = try await pool.query("INSERT INTO bench_items (payload, n) VALUES (\(payload), \(n))")
        return OperationOutcome(rows: result.affectedRows, checksum: 0)
    }
}
