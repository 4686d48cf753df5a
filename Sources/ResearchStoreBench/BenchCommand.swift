import ArgumentParser
import Foundation
import Logging
import Postgres
import PostgresPool

/// `research-store-bench`: measures our wrapper and pool against a PostgreSQL server and prints
/// `RESULT …` lines (plus `INFO …` and `MEMORY …`) for `scripts/bench` to tabulate.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "research-store-bench",
        abstract: "Measure single-row INSERT, 50-row SELECT, pipelined INSERT and COPY throughput.",
        discussion: """
            Expects the tables bench_items and bench_copy (scripts/bench creates them). Prints one \
            RESULT line per measurement on stdout, progress on stderr. The subcommand tokenize \
            measures the Tokenizer module instead (no database).
            """,
        subcommands: [TokenizeCommand.self])

    @Option(help: "libpq connection string or URL (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "Measured seconds per run, after the warm-up.")
    var duration: Double = 5

    @Option(help: "Warm-up seconds per run (not measured).")
    var warmup: Double = 1

    @Option(help: "insert, select, pipeline, copy or all.")
    var workload: Workload = .all

    @Option(help: "Comma-separated task counts for INSERT and SELECT (pool maximum = task count).")
    var concurrency: String = "1,8,64"

    @Option(help: "Comma-separated connection counts for the pipelined INSERT.")
    var pipelineConnections: String = "1,8"

    @Option(help: "Statements per pipeline(_:) call.")
    var pipelineBatch: Int = 1_000

    @Option(help: "Rows loaded by the COPY measurement.")
    var copyRows: Int = 200_000

    @Option(help: "Rows pre-loaded into bench_items for the SELECT.")
    var selectRows: Int = 200_000

    @Option(help: "wrapper (the wrapper's pool), event-loop (the epoll engine; INSERT and SELECT only, prepared) or event-loop-pinned (the same, tasks on the loop thread).")
    var engine: Engine = .wrapper

    func validate() throws {
        guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be > 0 and --warmup >= 0") }
        _ = try Self.counts(concurrency, option: "--concurrency")
        _ = try Self.counts(pipelineConnections, option: "--pipeline-connections")
        guard pipelineBatch > 0, copyRows > 0, selectRows > 50 else {
            throw ValidationError("--pipeline-batch and --copy-rows must be > 0, --select-rows > 50")
        }
    }

    mutating func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "research-store-bench")
        logger.logLevel = .warning

        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            throw ValidationError("give --database-url or set DATABASE_URL")
        }
        let connection = try PostgresConfiguration(connectionString: url)
        let setup = BenchSetup(
            connection: connection, logger: logger, warmupSeconds: warmup, durationSeconds: duration)
        let taskCounts = try Self.counts(concurrency, option: "--concurrency")
        let pipelineCounts = try Self.counts(pipelineConnections, option: "--pipeline-connections")
        ReportLine("INFO").with("payload_bytes", BenchSchema.payload.utf8.count)
            .with("duration_s", duration).with("warmup_s", warmup).emit()

        for single in workload.expanded {
            if engine.isEventLoop, single == .copy || single == .pipeline {
                progress("\(single) runs on the wrapper engine only: skipped")
                continue
            }
            switch single {
            case .copy:
                try await setup.measureCopy(rows: copyRows)
            case .select:
                let starts = try await setup.withPool(connections: 1, prepared: false) { pool in
                    try await BenchData.prepareSelectTable(rows: selectRows, pool: pool)
                }
                ReportLine("INFO").with("select_start_min", starts.lowerBound)
                    .with("select_start_max", starts.upperBound).emit()
                for tasks in taskCounts {
                    if engine.isEventLoop {
                        try await measureOnEventLoop(setup, "select", tasks: tasks, selectStarts: starts)
                        continue
                    }
                    for prepared in [false, true] {
                        try await setup.measure(
                            "select", operation: SelectOperation(starts: starts), tasks: tasks, prepared: prepared)
                    }
                }
            case .insert:
                for tasks in taskCounts {
                    if engine.isEventLoop {
                        try await measureOnEventLoop(setup, "insert", tasks: tasks, selectStarts: 0...0)
                        continue
                    }
                    for prepared in [false, true] {
                        try await setup.measure(
                            "insert", operation: InsertOperation(payload: BenchSchema.payload), tasks: tasks,
                            prepared: prepared)
                    }
                }
            case .pipeline:
                for connections in pipelineCounts {
                    try await setup.measure(
                        "pipeline",
                        operation: PipelineOperation(payload: BenchSchema.payload, batchSize: pipelineBatch),
                        tasks: connections, prepared: false)
                }
            case .all:
                preconditionFailure("`all` is expanded above")
            }
        }
        ReportLine("MEMORY").with("peak_rss_kb", ProcessUsage.now().peakRSSKilobytes).emit()
    }

    /// Runs the INSERT or SELECT on the event-loop engine (Linux only: it needs epoll).
    private func measureOnEventLoop(
        _ setup: BenchSetup, _ name: String, tasks: Int, selectStarts: ClosedRange<Int64>
    ) async throws {
        #if canImport(Glibc)
        if name == "select" {
            try await setup.measureOnEventLoop(
                name, operation: EventLoopSelectOperation(starts: selectStarts), tasks: tasks, engine: engine)
        } else {
            try await setup.measureOnEventLoop(
                name, operation: EventLoopInsertOperation(payload: BenchSchema.payload), tasks: tasks, engine: engine)
        }
        #else
        throw BenchFailure("the event-loop engine needs Linux (epoll)")
        #endif
    }

    /// Parses "1,8,64" into positive counts.
    static func counts(_ text: String, option: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("\(option) takes positive integers separated by commas, e.g. 1,8,64")
        }
        return values.map { $0! }
    }
}
