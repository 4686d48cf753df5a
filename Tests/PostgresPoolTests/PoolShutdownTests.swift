import Foundation
import Postgres
@testable import PostgresPool
import TestSupport
import Testing

@Suite("Shutdown waits without spinning and closes what comes back late")
struct PoolShutdownTests {
    @Test("a connection freed after shutdown began is closed, not put idle")
    func lateConnectionIsClosed() async throws {
        let connection = try await TestDatabase.connect()
        var state = PoolState(maximum: 1)
        state.leased = 1  // as if lent, or just connected, when shutdown began
        _ = state.beginShutdown()
        guard case .close = state.connectionAvailable(connection, now: .now) else {
            Issue.record("the connection was not to be closed")
            await connection.close()
            return
        }
        #expect(state.idle.isEmpty)
        #expect(state.open == 0)
        #expect(state.takeDrainedIfDone() == nil)  // nobody waits in this unit test
        await connection.close()
    }

    @Test("shutdown from a cancelled task waits for the lease without spinning, then closes everything")
    func cancelledShutdownWaits() async throws {
        let name = TestDatabase.uniqueName("shutdown")
        let connection = try PostgresConfiguration(connectionString: try TestDatabase.url() + "&application_name=\(name)")
        var configuration = PostgresPoolConfiguration()
        configuration.maximumConnections = 2
        configuration.shutdownGracePeriod = .seconds(120)  // far beyond the test: only the lease ends the wait
        let pool = PostgresPool(configuration: configuration, connection: connection, logger: TestDatabase.logger)
        try await pool.query("SELECT 1")  // one idle connection, closed when shutdown begins

        let leased = AsyncStream<Void>.makeStream()
        let giveBack = AsyncStream<Void>.makeStream()
        let lease = Task {
            try await pool.withConnection { connection in
                try await connection.query("SELECT 1")
                leased.continuation.yield()
                for await _ in giveBack.stream { break }
                // Still usable while shutdown waits: in-flight work finishes.
                try await connection.query("SELECT 2")
            }
        }
        for await _ in leased.stream { break }
        let finished = Locked(false)
        let shutdown = Task {
            withUnsafeCurrentTask { $0?.cancel() }  // as in run(), after graceful shutdown cancels it
            await pool.shutdown()
            finished.withLock { $0 = true }
        }
        #expect(await eventually { pool.isShuttingDown })
        await #expect(throws: PostgresPoolError.shuttingDown) { try await pool.query("SELECT 1") }
        // Give a spinning loop every chance to show: a few round trips while shutdown waits.
        for _ in 0..<5 { _ = try await backendCount(applicationName: name) }
        #expect(!finished.value)
        giveBack.continuation.yield()
        try await lease.value
        await shutdown.value
        #expect(finished.value)
        #expect(pool.drainChecks == 1)
        #expect(pool.statistics.open == 0)
        #expect(try await eventually { try await backendCount(applicationName: name) == 0 })
    }
}
