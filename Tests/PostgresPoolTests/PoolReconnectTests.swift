import Foundation
import Logging
import Postgres
@testable import PostgresPool
import TestSupport
import Testing

@Suite("While the database is unreachable the pool fails fast, backs off and logs state changes once")
struct PoolReconnectTests {
    func count(_ capture: LogCapture, _ message: String, at level: Logger.Level) -> Int {
        capture.entries.filter { $0.message == message && $0.level == level }.count
    }

    @Test("a closed port: every waiter fails with the connect error, one warning for all attempts, maintenance backs off")
    func closedPort() async throws {
        let port = try closedLoopbackPort()
        let capture = LogCapture()
        let url = "host=127.0.0.1 port=\(port) dbname=x user=x sslmode=disable connect_timeout=10"
        try await withPool(connection: url, logger: capture.logger(), {
            $0.maximumConnections = 2
            $0.minimumConnections = 1
            // Long waits: a waiter failing proves the connect error reached it, not a timeout.
            $0.acquireTimeout = .seconds(120)
            $0.reconnectBackoffBase = .seconds(3600)
            $0.reconnectBackoffCap = .seconds(3600)
        }) { pool in
            for _ in 0..<3 {
                let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
                #expect(error.code == .connectionFailed)
            }
            #expect(pool.statistics.connectFailures == 3)
            #expect(count(capture, "database unreachable", at: .warning) == 1)
            #expect(!capture.entries.contains { $0.level >= .warning && $0.message != "database unreachable" })
            // Maintenance would open the minimum at once; after a failure it waits out the backoff
            // (up to an hour here, drawn at random: compared with the drawn instant, not a clock bound).
            let retryAt = try #require(pool.retryNotBefore)
            pool.maintain()
            if ContinuousClock.now < retryAt { #expect(pool.statistics.open == 0) }
        }
    }

    @Test("the backoff is full jitter below base × 2^(n−1), capped")
    func backoffBounds() {
        for failures in 1...40 {
            let ceiling = min(Duration.seconds(5), .milliseconds(50) * (1 << min(failures - 1, 30)))
            for _ in 0..<50 {
                let delay = PostgresPool.backoff(afterFailures: failures, base: .milliseconds(50), cap: .seconds(5))
                #expect(delay >= .zero && delay <= ceiling, "\(failures) failures: \(delay)")
            }
        }
        // Jitter: draws differ (50 equal draws from 0…5 s would be a broken random source).
        let draws = Set((0..<50).map { _ in PostgresPool.backoff(afterFailures: 20, base: .milliseconds(50), cap: .seconds(5)) })
        #expect(draws.count > 1)
    }

    @Test("after failures, the first successful connect logs \"database reachable again\" once")
    func reachableAgain() async throws {
        let base = try TestDatabase.configuration()
        let role = TestDatabase.uniqueName("pool_role")
        let password = UUID().uuidString
        let host = base.value(of: "host") ?? "127.0.0.1"
        let port = base.value(of: "port") ?? "5432"
        let database = base.value(of: "dbname") ?? "research_store"
        let url = "host=\(host) port=\(port) dbname=\(database) user=\(role) password=\(password) sslmode=disable"
        let capture = LogCapture()
        try await withPool(connection: url, logger: capture.logger(), { $0.acquireTimeout = .seconds(120) }) { pool in
            // The role does not exist yet: connecting fails, as it would with the server away.
            for _ in 0..<2 {
                await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            }
            _ = try await TestDatabase.withConnection { admin in
                try await admin.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(PostgresQuery.quoteIdentifier(role)) LOGIN PASSWORD '\(password)'"))
            }
            for _ in 0..<3 { #expect(try await pool.query("SELECT 1").count == 1) }
            #expect(count(capture, "database unreachable", at: .warning) == 1)
            #expect(count(capture, "database reachable again", at: .info) == 1)
            #expect(pool.retryNotBefore == nil)
        }
        try await TestDatabase.withConnection { admin in
            // Its sessions end with the pool's shutdown; wait for them before dropping the role.
            let deadline = ContinuousClock.now + .seconds(60)  // a hang guard only
            while ContinuousClock.now < deadline,
                try await admin.query("SELECT count(*) FROM pg_stat_activity WHERE usename = \(role)")[0].decode(0, as: Int.self) > 0
            {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await admin.query(PostgresQuery(unsafeSQL: "DROP ROLE \(PostgresQuery.quoteIdentifier(role))"))
        }
    }
}
