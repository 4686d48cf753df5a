import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
@testable import ResearchStore
import ResearchStoreHTTP
import TestSupport
import Testing

/// Health and readiness never queue behind the request pool or the in-flight limit.
@Suite("Health under load")
struct HealthUnderLoadTests {
    @Test("with every pooled connection blocked, waiters queued and the in-flight limit reached, probes answer 200")
    func saturatedPool() async throws {
        let user = uniqueUser()
        let session = UUID()
        try await TestDatabase.withConnection { connection in
            try await connection.query("INSERT INTO users (id) VALUES (\(user)) ON CONFLICT DO NOTHING")
            try await connection.query("INSERT INTO sessions (id, user_id, title) VALUES (\(session), \(user), 'busy')")
        }
        var settings = HTTPSettings(port: 0)
        settings.maximumConcurrentRequests = 4
        try await TestDatabase.withConnection { blocker in
            try await blocker.query("BEGIN")
            try await blocker.query("SELECT 1 FROM sessions WHERE id = \(session) FOR UPDATE")
            try await withAPI(settings: settings, pool: { $0.maximumConnections = 2; $0.acquireTimeout = .seconds(60) }) { client in
                let port = try #require(client.port)
                // Four updates, each on its own connection, fill the in-flight limit: two hold the
                // pool's connections (blocked on the row lock), two wait for a connection.
                let updates = Task {
                    try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                        for index in 0..<4 {
                            group.addTask {
                                try await statusOnOwnConnection(
                                    port: port, .patch, "/db/sessions/\(session.uuidString)", as: user, json: #"{"title": "u\#(index)"}"#)
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                }
                var health: [String: Any] = [:]
                for _ in 0..<600 {
                    let response = try await client.call(.get, "/db/health", as: user)
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    health = try json(response)
                    let pool = health["pool"] as? [String: Any]
                    if pool?["in_use"] as? Int == 2, pool?["waiting"] as? Int == 2 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                let pool = try #require(health["pool"] as? [String: Any])
                #expect(pool["in_use"] as? Int == 2 && pool["waiting"] as? Int == 2, "the pool never filled: \(health)")
                #expect((health["database"] as? [String: Any])?["reachable"] as? Bool == true)
                // Saturated: a data request is turned away at the in-flight limit; probes are not.
                try expectProblem(try await client.call(.get, "/db/sessions", as: user), .serviceUnavailable)
                let started = ContinuousClock.now
                let health2 = try await client.call(.get, "/db/health", as: user)
                let ready = try await client.call(.get, "/readyz", as: user)
                print("health and readiness at full saturation answered in \(ContinuousClock.now - started)")
                #expect(health2.status == .ok && ready.status == .ok, "\(String(buffer: ready.body))")
                try await blocker.query("ROLLBACK")
                let statuses = try await updates.value
                #expect(statuses.allSatisfy { $0 == .ok }, "\(statuses)")
            }
        }
    }

    @Test("a flood of health checks costs one query per second: concurrent checks share one, results are reused")
    func cachedProbe() async throws {
        let probe = DatabaseProbe(configuration: try TestDatabase.configuration(), logger: TestDatabase.logger, maximumAge: .seconds(3600))
        let results = await withTaskGroup(of: DatabaseHealth.self) { group in
            for _ in 0..<200 { group.addTask { await probe.check() } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.reachable })
        #expect(await probe.checksRun == 1)
        await probe.close()
        #expect(await probe.check().reachable, "a cached result is served until it is a second old")
    }
}
