import PostgresPool

/// What load tasks run their operations against: the wrapper's pool, or the event-loop engine.
protocol LoadTarget: Sendable {
    /// Leases that had to wait for a connection so far.
    var leaseWaits: Int { get }
    /// The executor the load tasks should prefer, if any (nil: the global concurrent executor).
    var taskExecutor: (any TaskExecutor)? { get }
}

extension PostgresPool: LoadTarget {
    var leaseWaits: Int { statistics.waits }
    var taskExecutor: (any TaskExecutor)? { nil }
}

/// One unit of work a load task repeats against its target: a statement or a pipelined batch.
protocol BenchOperation<Target>: Sendable {
    associatedtype Target: LoadTarget
    /// Runs once; `random` is the calling task's own generator.
    func run(on target: Target, random: inout SplitMix64) async throws -> OperationOutcome
}

/// What one operation did: rows inserted or returned, and a checksum of the decoded values (so
/// the decoding cannot be optimised away, and the caller can print it).
struct OperationOutcome: Sendable {
    var rows: Int
    var checksum: Int
}
