import Foundation
import Postgres
import PostgresPool
import TestSupport
import Testing

/// Restarts a PostgreSQL cluster of its own (never the shared test cluster) with `scripts/local-db`.
@Suite("The pool survives a server restart")
struct PoolRestartTests {
    func localDB(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestDatabase.repositoryRoot() + "/scripts/local-db")
        process.arguments = arguments + ["--name", "test-restart"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestDatabase.MissingEnvironment(name: "a working scripts/local-db \(arguments.joined(separator: " "))")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("after pg_ctl restart the same pool serves again, without a process restart")
    func restart() async throws {
        _ = try localDB("start")
        let url = try localDB("url")
        defer { _ = try? localDB("stop") }
        try await withPool(connection: url, { $0.maximumConnections = 4; $0.acquireTimeout = .seconds(5) }) { pool in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await pool.query("SELECT pg_sleep(0.02)") } }
                try await group.waitForAll()
            }
            let before = try await pool.query("SELECT pg_postmaster_start_time()").first!.decode(0, as: Date.self)
            _ = try await onOwnThread { try self.localDB("restart") }  // seconds of waiting, off the cooperative pool
            // Every idle connection is now dead: the pool notices before lending one, so even the
            // first query after the restart succeeds, on a fresh connection.
            let restartedAt = try await pool.query("SELECT pg_postmaster_start_time()").first!.decode(0, as: Date.self)
            #expect(restartedAt > before)
            #expect(pool.statistics.discarded >= 1)
            for _ in 0..<10 { #expect(try await pool.query("SELECT 1").count == 1) }
        }
    }
}
