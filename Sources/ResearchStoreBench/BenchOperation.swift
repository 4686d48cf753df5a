import PostgresPool

/// One unit of work a load task repeats through the pool: a statement or a pipelined batch.
protocol BenchOperation: Sendable {
    /// Runs once; `random` is the calling task's own generator.
    func run(on pool: PostgresPool, random: inout SplitMix64) async throws -> OperationOutcome
}

/// What one operation did: rows inserted or returned, and a checksum of the decoded values (so
/// the decoding cannot be optimised away, and the caller can print it).
struct OperationOutcome: Sendable {
    var rows: Int
    var checksum: Int
}
