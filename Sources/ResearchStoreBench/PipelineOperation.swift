import Postgres
import PostgresPool

/// A batch of single-row INSERTs sent with one `connection.pipeline(_:)` call.
struct PipelineOperation: BenchOperation {
    let payload: String
    let batchSize: Int

    func run(on pool: PostgresPool, random: inout SplitMix64) async throws -> OperationOutcome {
        var queries: [PostgresQuery] = []
        queries.reserveCapacity(batchSize)
        for _ in 0..<batchSize {
            let n = Int32.random(in: 1...BenchSchema.maximumN, using: &random)
            queries.append("INSERT INTO bench_items (payload, n) VALUES (\(payload), \(n))")
        }
        let results = try await pool.withConnection { connection in try await connection.pipeline(queries) }
        return OperationOutcome(rows: results.reduce(0) { $0 + $1.affectedRows }, checksum: 0)
    }
}
