import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import PostgresPool
import ResearchStore
import ResearchStoreHTTP
import TestSupport
import Testing

/// The health endpoints against the real test database (migrated by scripts/test).
@Suite("Health endpoints")
struct HealthEndpointTests {
    func makeApp(url: String, acquireTimeout: Duration = .seconds(10)) throws -> some ApplicationProtocol {
        var configuration = PostgresPoolConfiguration()
        configuration.maximumConnections = 2
        configuration.acquireTimeout = acquireTimeout
        configuration.shutdownGracePeriod = .seconds(1)
        let connection = try PostgresConfiguration(connectionString: url)
        let pool = PostgresPool(configuration: configuration, connection: connection, logger: TestDatabase.logger)
        return buildApplication(settings: HTTPSettings(), pool: pool, version: "test", logger: TestDatabase.logger)
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
        return try #require(object as? [String: Any])
    }

    @Test("/livez answers 200 while the process runs")
    func live() async throws {
        try await makeApp(url: try TestDatabase.url()).test(.router) { client in
            try await client.execute(uri: "/livez", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["status"] as? String == "ok")
            }
        }
    }

    @Test("/db/health reports the database, the schema version and the pool")
    func healthy() async throws {
        try await makeApp(url: try TestDatabase.url()).test(.router) { client in
            try await client.execute(uri: "/db/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let body = try json(response)
                #expect(body["status"] as? String == "ok")
                #expect(body["version"] as? String == "test")
                #expect(body["uptime_s"] as? Int != nil)
                let database = try #require(body["database"] as? [String: Any])
                #expect(database["reachable"] as? Bool == true)
                #expect((database["latency_ms"] as? Double).map { $0 >= 0 } == true)
                #expect(database["schema_version"] as? Int == SchemaVersion.expected)
                let pool = try #require(body["pool"] as? [String: Any])
                #expect(pool["max"] as? Int == 2)
                #expect(Set(pool.keys) == ["max", "open", "in_use", "idle", "waiting"])
                // The probe has a connection of its own: asking the database opened none of the pool's.
                #expect(pool["open"] as? Int == 0)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["status"] as? String == "ready")
            }
        }
    }

    @Test("an unreachable database gives 503 with the same shape, without waiting out the acquire timeout")
    func unreachable() async throws {
        // An acquire timeout of an hour: a waiter left to it would trip the 60 s hang guard below,
        // however slow the machine.
        let app = try makeApp(url: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", acquireTimeout: .seconds(3600))
        try await app.test(.router) { client in
            let started = ContinuousClock.now
            try await client.execute(uri: "/db/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                let body = try json(response)
                #expect(body["status"] as? String == "unavailable")
                let database = try #require(body["database"] as? [String: Any])
                #expect(database["reachable"] as? Bool == false)
                #expect(database["latency_ms"] is NSNull)
                #expect(database["schema_version"] is NSNull)
                #expect(body["pool"] as? [String: Any] != nil)
                #expect(!String(buffer: response.body).contains("nobody"))
            }
            // A refused connect fails the waiter at once instead of leaving it to the acquire timeout.
            #expect(ContinuousClock.now - started < .seconds(60), "the waiter was left to the acquire timeout")
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try json(response)
                #expect(body["status"] as? String == "not_ready")
                #expect(body["reasons"] as? [String] == ["database unreachable"])
            }
            try await client.execute(uri: "/livez", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("a database behind this build's schema is not ready")
    func schemaBehind() async throws {
        let database = TestDatabase.uniqueName("unmigrated")
        _ = try await TestDatabase.withConnection { try await $0.query("CREATE DATABASE \(identifier: database)") }
        let base = try TestDatabase.url()
        let url = base.replacingOccurrences(of: "/research_store?", with: "/\(database)?")
        #expect(url != base)
        do {
            try await makeApp(url: url).test(.router) { client in
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let reasons = try json(response)["reasons"] as? [String]
                    #expect(reasons?.first?.contains("schema version 0") == true)
                }
                try await client.execute(uri: "/db/health", method: .get) { response in
                    let database = try json(response)["database"] as? [String: Any]
                    #expect(database?["schema_version"] as? Int == 0)
                }
            }
        } catch {
            _ = try? await TestDatabase.withConnection { try await $0.query("DROP DATABASE \(identifier: database) WITH (FORCE)") }
            throw error
        }
        _ = try await TestDatabase.withConnection { try await $0.query("DROP DATABASE \(identifier: database) WITH (FORCE)") }
    }

    @Test("the build's expected schema version is the highest migration file")
    func expectedVersionMatchesFiles() throws {
        let root = try TestDatabase.repositoryRoot()
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/migrations")
        let versions = files.compactMap { name -> Int? in
            guard name.hasSuffix(".sql") else { return nil }
            return Int(name.prefix { $0.isNumber })
        }
        #expect(FileManager.default.fileExists(atPath: root + "/schema.sql"))
        #expect(SchemaVersion.expected == max(1, versions.max() ?? 1))
    }
}
