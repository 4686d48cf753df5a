import Foundation
import Logging
import Postgres
import PostgresPool
import TestSupport

/// A pool on the test database, shut down after `body`.
func withPool<Result: Sendable>(
    connection url: String? = nil,
    logger: Logger = TestDatabase.logger,
    _ configure: (inout PostgresPoolConfiguration) -> Void = { _ in },
    _ body: (PostgresPool) async throws -> Result
) async throws -> Result {
    var configuration = PostgresPoolConfiguration()
    configure(&configuration)
    configuration.shutdownGracePeriod = .seconds(2)
    let connection = try PostgresConfiguration(connectionString: try url ?? TestDatabase.url())
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

/// Polls `condition` until it holds or ten seconds pass (returns as soon as it holds).
func eventually(_ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Backend pids of this pool's connections, as PostgreSQL sees them.
func backendCount(applicationName: String) async throws -> Int {
    try await TestDatabase.withConnection { connection in
        try await connection.query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = \(applicationName)"
        ).first!.decode(0, as: Int.self)
    }
}

