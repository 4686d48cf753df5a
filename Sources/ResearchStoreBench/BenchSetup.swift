import Foundation
import Logging
import Postgres
import PostgresPool

/// What every measurement shares: where the server is, the logger and the timings. Makes a
/// fresh pool per measurement, so each starts with its own connections (and prepared statements).
struct BenchSetup: Sendable {
    let connection: PostgresConfiguration
    let logger: Logger
    let warmupSeconds: Double
    let durationSeconds: Double

    /// Runs `body` with a pool of at most `connections` connections, then shuts the pool down.
    func withPool<Result: Sendable>(
        connections: Int, prepared: Bool, _ body: (PostgresPool) async throws -> Result
    ) async throws -> Result {
        var connection = self.connection
        connection.usePreparedStatements = prepared
        connection.applicationName = "research-store-bench"
        var configuration = PostgresPoolConfiguration()
        configuration.maximumConnections = connections
        configuration.maximumWaiters = max(1_000, connections)
        // Opening 64 connections (SCRAM) on a busy 2-core machine can take a while.
        configuration.acquireTimeout = .seconds(60)
        let pool = PostgresPool(configuration: configuration, connection: connection, logger: logger)
        do {
            let result = try await body(pool)
            await pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    /// One closed-loop run at `tasks` concurrency on a pool of `tasks` connections; prints a RESULT line.
    func measure(
        _ name: String, operation: some BenchOperation<PostgresPool>, tasks: Int, prepared: Bool
    ) async throws {
        progress("\(name) tasks=\(tasks) prepared=\(prepared): \(warmupSeconds)s warm-up + \(durationSeconds)s")
        let runner = LoadRunner(
            operation: operation, tasks: tasks, warmupSeconds: warmupSeconds, durationSeconds: durationSeconds)
        let (outcome, statistics) = try await withPool(connections: tasks, prepared: prepared) { pool in
            (try await runner.run(on: pool), pool.statistics)
        }
        ReportLine.result(
            name, engine: .wrapper, tasks: tasks, prepared: prepared, outcome: outcome, connectionsOpen: statistics.open
        ).emit()
    }

    /// Truncates `bench_copy`, then times one `copyFrom` of `rows` rows on one connection.
    func measureCopy(rows: Int) async throws {
        progress("copy \(rows) rows into \(BenchSchema.copyTable) on one connection")
        let (copied, seconds) = try await withPool(connections: 1, prepared: false) { pool in
            try await pool.withConnection { connection -> (Int, Double) in
                try await connection.query("TRUNCATE bench_copy")
                let started = MonotonicClock.nanoseconds()
                let copied = try await BenchData.copy(rows: rows, into: BenchSchema.copyTable, on: connection)
                return (copied, Double(MonotonicClock.nanoseconds() - started) / 1e9)
            }
        }
        guard copied == rows else { throw BenchFailure("COPY reported \(copied) rows, expected \(rows)") }
        ReportLine("RESULT").with("workload", "copy").with("tasks", 1).with("prepared", false)
            .with("rows_per_s", rate: Double(copied) / seconds)
            .with("seconds", String(format: "%.3f", seconds))
            .with("rows", copied)
            .emit()
    }
}
