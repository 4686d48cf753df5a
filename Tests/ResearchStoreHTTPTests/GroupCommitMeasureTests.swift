import Foundation
import Postgres
import PostgresPool
import ResearchStore
import TestSupport
import Testing

/// Not a test: the figures behind the group commit's defaults, printed, never asserted (they
/// depend on the machine). Runs only when `MEASURE_GROUP_COMMIT` is set:
/// `MEASURE_GROUP_COMMIT=1 swift test --skip-build --filter GroupCommitMeasure 2>&1 | grep MEASURE`.
/// `maximumBatch: 1` with eight flushes is the old way: one statement (one commit) per store.
@Suite("GroupCommitMeasure", .serialized, .enabled(if: ProcessInfo.processInfo.environment["MEASURE_GROUP_COMMIT"] != nil))
struct GroupCommitMeasureTests {
    @Test(
        "stores/s and latency of service-level stores, 4 s per case",
        arguments: [
            (8, 1, 64), (1, 256, 64), (2, 256, 64), (4, 256, 64), (2, 32, 64), (8, 1, 8), (2, 256, 8), (8, 1, 1), (2, 256, 1),
        ])
    func measure(flushes: Int, batch: Int, tasks: Int) async throws {
        let users = (0..<10).map { _ in uniqueUser("measure") }
        let sessions = (0..<100).map { _ in UUID() }
        try await TestDatabase.withConnection { connection in
            for user in users { try await connection.query("INSERT INTO users (id) VALUES (\(user))") }
            for (index, session) in sessions.enumerated() {
                try await connection.query("INSERT INTO sessions (id, user_id, title) VALUES (\(session), \(users[index % 10]), 't')")
            }
        }
        var configuration = PostgresPoolConfiguration()
        configuration.maximumConnections = 8
        configuration.acquireTimeout = .seconds(60)
        let pool = PostgresPool(
            configuration: configuration, connection: try PostgresConfiguration(connectionString: try TestDatabase.url()),
            logger: TestDatabase.logger)
        let messages = MessageService(
            pool: pool, cursors: .random(), groupCommit: .init(maximumFlushes: flushes, maximumBatch: batch))
        let content = JSONValue.string(String(repeating: "x", count: 200))
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var latencies: [Duration] = []
                    var index = task
                    while ContinuousClock.now < start + .seconds(4) {
                        let body = JSONValue.object([
                            ("session_id", .string(sessions[index % 100].uuidString)), ("role", .string("user")), ("content", content),
                        ])
                        let began = ContinuousClock.now
                        _ = try await messages.store(caller: Caller(userID: users[index % 10]), body: body)
                        latencies.append(ContinuousClock.now - began)
                        index += 7
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }.sorted()
        }
        let elapsed = ContinuousClock.now - start
        await pool.shutdown()
        let statistics = messages.groupCommitStatistics
        func milliseconds(_ duration: Duration) -> String {
            String(format: "%.1f", Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "MEASURE flushes=\(flushes) batch=\(batch) tasks=\(tasks): \(Int(Double(latencies.count) / seconds)) stores/s, "
                + "mean group \(String(format: "%.1f", Double(statistics.items) / Double(max(statistics.flushes, 1)))), "
                + "p50 \(milliseconds(latencies[latencies.count / 2])) ms, p99 \(milliseconds(latencies[latencies.count * 99 / 100])) ms")
    }
}
