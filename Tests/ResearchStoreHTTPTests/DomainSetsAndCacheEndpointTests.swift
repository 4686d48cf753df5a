import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import PostgresPool
@testable import ResearchStore
import TestSupport
import Testing

@Suite("Domain sets")
struct DomainSetsEndpointTests {
    func uniqueName() -> String { "ds-\(UUID().uuidString.prefix(8).lowercased())" }

    @Test("an admin creates a set: host names lower-cased, duplicates dropped, defaults filled in")
    func create() async throws {
        let name = uniqueName()
        try await withAPI { client in
            let response = try await client.call(
                .post, "/db/domain-sets", as: "ops", admin: true,
                json: #"{"name": "\#(name)", "domains": ["Example.ORG", "bbc.co.uk", "example.org", "xn--bcher-kva.example"]}"#)
            #expect(response.status == .created)
            #expect(response.headers[.location] == "/db/domain-sets/\(name)")
            let set = try json(response)
            #expect(set["name"] as? String == name)
            #expect(set["description"] as? String == "")
            #expect(set["domains"] as? [String] == ["example.org", "bbc.co.uk", "xn--bcher-kva.example"])
            #expect((set["metadata"] as? [String: Any])?.isEmpty == true)
            #expect(set["created_at"] as? String == set["updated_at"] as? String)
            let read = try await client.call(.get, "/db/domain-sets/\(name)", as: uniqueUser())
            #expect(read.status == .ok)
            #expect(String(buffer: read.body) == String(buffer: response.body))
            try expectProblem(
                try await client.call(.post, "/db/domain-sets", as: "ops", admin: true, json: #"{"name": "\#(name)", "domains": ["a.org"]}"#),
                .conflict, fields: ["name"])
        }
    }

    @Test("writes need the admin role (after validation), names and host names are validated")
    func rules() async throws {
        let name = uniqueName()
        try await withAPI { client in
            let user = uniqueUser()
            try expectProblem(
                try await client.call(.post, "/db/domain-sets", as: user, json: #"{"name": "\#(name)", "domains": ["a.org"]}"#), .forbidden)
            try expectProblem(try await client.call(.put, "/db/domain-sets/\(name)", as: user, json: #"{"domains": ["a.org"]}"#), .forbidden)
            try expectProblem(try await client.call(.delete, "/db/domain-sets/\(name)", as: user), .forbidden)
            try expectProblem(
                try await client.call(.post, "/db/domain-sets", as: user, json: #"{"name": "Bad Name", "domains": []}"#),
                .unprocessableContent, fields: ["name", "domains"])
            let hosts = [
                "-a.org", "a-.org", "a_b.org", "a..org", "a.org.", "*.a.org", "exämple.org", String(repeating: "a", count: 64) + ".org",
                String(repeating: "abcdefgh.", count: 29) + "org", "",
            ]
            let quotedHosts = hosts.map(quoted).joined(separator: ", ")
            try expectProblem(
                try await client.call(
                    .post, "/db/domain-sets", as: "ops", admin: true,
                    json: #"{"name": "\#(name)", "domains": ["ok.org", \#(quotedHosts), 7], "description": \#(quoted(String(repeating: "d", count: 1001))), "metadata": []}"#),
                .unprocessableContent,
                fields: ["description"] + (1...(hosts.count + 1)).map { "domains[\($0)]" } + ["metadata"])
            let tooMany = (0...1000).map { "\"h\($0).org\"" }.joined(separator: ",")
            try expectProblem(
                try await client.call(.post, "/db/domain-sets", as: "ops", admin: true, json: #"{"name": "\#(name)", "domains": [\#(tooMany)]}"#),
                .unprocessableContent, fields: ["domains"])
            try expectProblem(try await client.call(.get, "/db/domain-sets/\(name)", as: user), .notFound)
            try expectProblem(try await client.call(.get, "/db/domain-sets/Bad%20Name", as: user), .notFound)
            try expectProblem(try await client.call(.put, "/db/domain-sets/UPPER", as: "ops", admin: true, json: #"{"domains": ["a.org"]}"#), .notFound)
        }
    }

    @Test("PUT creates (201) or replaces the whole set (200); DELETE removes it; every write is audited")
    func replaceAndDelete() async throws {
        let name = uniqueName()
        try await withAPI { client in
            let created = try await client.call(
                .put, "/db/domain-sets/\(name)", as: "ops", admin: true,
                json: #"{"description": "news", "domains": ["a.org"], "metadata": {"tier": 1}}"#)
            #expect(created.status == .created)
            #expect(created.headers[.location] == "/db/domain-sets/\(name)")
            let replaced = try await client.call(.put, "/db/domain-sets/\(name)", as: "ops", admin: true, json: #"{"name": "\#(name)", "domains": ["b.org", "c.org"]}"#)
            #expect(replaced.status == .ok)
            let set = try json(replaced)
            #expect(set["description"] as? String == "")
            #expect(set["domains"] as? [String] == ["b.org", "c.org"])
            #expect((set["metadata"] as? [String: Any])?.isEmpty == true)
            #expect(set["created_at"] as? String == (try json(created))["created_at"] as? String)
            try expectProblem(
                try await client.call(.put, "/db/domain-sets/\(name)", as: "ops", admin: true, json: #"{"name": "other", "domains": ["b.org"]}"#),
                .unprocessableContent, fields: ["name"])
            #expect(try await client.call(.delete, "/db/domain-sets/\(name)", as: "ops", admin: true).status == .noContent)
            try expectProblem(try await client.call(.get, "/db/domain-sets/\(name)", as: "ops"), .notFound)
            try expectProblem(try await client.call(.delete, "/db/domain-sets/\(name)", as: "ops", admin: true), .notFound)
            let actions = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    "SELECT action, actor_user_id FROM audit_log WHERE target_type = 'domain_set' AND target_id = \(name) ORDER BY id"
                ).map { try $0.decode((String, String).self) }
            }
            #expect(actions.map(\.0) == ["domain_set.create", "domain_set.replace", "domain_set.delete"])
            #expect(actions.allSatisfy { $0.1 == "ops" })
        }
    }

    @Test("the list is by name, page by page")
    func list() async throws {
        let prefix = "ls-\(UUID().uuidString.prefix(6).lowercased())"
        let names = (1...5).map { "\(prefix)-\($0)" }
        try await withAPI { client in
            for name in names.shuffled() {
                #expect(try await client.call(.post, "/db/domain-sets", as: "ops", admin: true, json: #"{"name": "\#(name)", "domains": ["a.org"]}"#).status == .created)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let body = try json(try await client.call(.get, "/db/domain-sets?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), as: uniqueUser()))
                seen += (body["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                cursor = body["next_cursor"] as? String
            } while cursor != nil
            #expect(seen.filter { $0.hasPrefix(prefix) } == names)
            #expect(seen == seen.sorted())
            try expectProblem(try await client.call(.get, "/db/domain-sets?limit=201", as: "u"), .unprocessableContent, fields: ["limit"])
            try expectProblem(try await client.call(.get, "/db/domain-sets?cursor=x", as: "u"), .badRequest, fields: ["cursor"])
        }
    }
}

/// Serialized: the periodic-sweep test runs a sweeper every 50 ms, which would sweep the rows
/// the expiry test counts. (Test servers' own sweepers first run after 60 s.)
@Suite("Result cache", .serialized)
struct CacheEndpointTests {
    func uniqueKey() -> String { "k:\(UUID().uuidString.prefix(8).lowercased())/search.v1/q-1" }

    @Test("PUT then GET by anyone, keys with / and :, replaced by a second PUT, DELETE is 204 even when missing")
    func roundTrip() async throws {
        let key = uniqueKey()
        try await withAPI { client in
            let put = try await client.call(
                .put, "/db/cache/\(key)", as: uniqueUser(), json: #"{"value": {"hits": [1, 2.5, "x"], "n": 12345678901234}, "ttl_seconds": 600}"#)
            #expect(put.status == .ok)
            let stored = try json(put)
            #expect(stored["key"] as? String == key)
            let expiresAt = try #require(Timestamp.parse(stored["expires_at"] as? String ?? ""))
            #expect(abs(expiresAt.timeIntervalSinceNow - 600) < 60)
            let read = try await client.call(.get, "/db/cache/\(key)", as: uniqueUser("reader"))
            #expect(read.status == .ok)
            let body = try json(read)
            let value = try #require(body["value"] as? [String: Any])
            #expect((value["n"] as? NSNumber)?.int64Value == 12_345_678_901_234)
            #expect(body["expires_at"] as? String == stored["expires_at"] as? String)
            #expect(try await client.call(.put, "/db/cache/\(key)", as: "u", json: #"{"value": {"v": 2}, "ttl_seconds": 900}"#).status == .ok)
            #expect((try json(try await client.call(.get, "/db/cache/\(key)", as: "u"))["value"] as? [String: Int]) == ["v": 2])
            #expect(try await client.call(.delete, "/db/cache/\(key)", as: "u").status == .noContent)
            try expectProblem(try await client.call(.get, "/db/cache/\(key)", as: "u"), .notFound)
            #expect(try await client.call(.delete, "/db/cache/\(key)", as: "u").status == .noContent)
        }
    }

    @Test("an expired entry is 404 before the sweep; the sweep deletes expired rows in batches and keeps live ones")
    func expiry() async throws {
        let prefix = "exp:\(UUID().uuidString.prefix(8).lowercased())"
        try await withAPI { client in
            for index in 0..<10 {
                #expect(try await client.call(.put, "/db/cache/\(prefix)/\(index)", as: "u", json: #"{"value": {}, "ttl_seconds": 3600}"#).status == .ok)
            }
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    """
                    UPDATE result_cache SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'
                    WHERE key LIKE \(prefix + "/%") AND key <> \(prefix + "/9")
                    """)
            }
            try expectProblem(try await client.call(.get, "/db/cache/\(prefix)/0", as: "u"), .notFound)
            #expect(try await client.call(.get, "/db/cache/\(prefix)/9", as: "u").status == .ok)
            // 10, unless the sweeper of another test's server on this database came first.
            let before = try await remaining(prefix)
            #expect((1...10).contains(before))

            try await withPool { pool in
                let sweeper = ExpirySweeper(pool: pool, interval: .seconds(3600), batchSize: 3, logger: TestDatabase.logger)
                let swept = await sweeper.sweepOnce()
                #expect(swept.cache >= before - 1)
            }
            #expect(try await remaining(prefix) == 1)
            #expect(try await client.call(.get, "/db/cache/\(prefix)/9", as: "u").status == .ok)
        }
    }

    @Test("the sweeper runs by itself every interval and also clears expired idempotency records")
    func periodicSweep() async throws {
        let prefix = "per:\(UUID().uuidString.prefix(8).lowercased())"
        let user = uniqueUser()
        try await withAPI { client in
            #expect(try await client.call(.put, "/db/cache/\(prefix)/a", as: user, json: #"{"value": {}, "ttl_seconds": 60}"#).status == .ok)
            let created = try await client.call(
                .post, "/db/sessions/create", as: user, json: #"{"title": "t"}"#, headers: [HTTPField.Name("Idempotency-Key")!: "k-\(prefix)"])
            #expect(created.status == .created)
            try await TestDatabase.withConnection { connection in
                try await connection.query(
                    "UPDATE result_cache SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE key = \(prefix + "/a")")
                try await connection.query(
                    "UPDATE idempotency_keys SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day' WHERE user_id = \(user)")
            }
            try await withPool { pool in
                let sweeper = ExpirySweeper(pool: pool, interval: .milliseconds(50), logger: TestDatabase.logger)
                let task = Task { try await sweeper.run() }
                defer { task.cancel() }
                let swept = try await waitUntil { try await remaining(prefix) + idempotencyRecords(user) == 0 }
                #expect(swept, "expired entries still there after 60 s of sweeping every 50 ms")
            }
        }
    }

    @Test("bad keys are 404, bad bodies 422 naming the field, a value over 1 MiB 422 and a body over 2 MiB 413")
    func validation() async throws {
        let key = uniqueKey()
        try await withAPI { client in
            let long = String(repeating: "k", count: 257)
            for bad in ["bad%20key", "a%2Fb", long, "bad*key"] {
                try expectProblem(try await client.call(.get, "/db/cache/\(bad)", as: "u"), .notFound)
                try expectProblem(try await client.call(.put, "/db/cache/\(bad)", as: "u", json: #"{"value": {}, "ttl_seconds": 5}"#), .notFound)
                try expectProblem(try await client.call(.delete, "/db/cache/\(bad)", as: "u"), .notFound)
            }
            #expect(try await client.call(.put, "/db/cache/\(String(repeating: "k", count: 256))", as: "u", json: #"{"value": {}, "ttl_seconds": 5}"#).status == .ok)
            try expectProblem(
                try await client.call(.put, "/db/cache/\(key)", as: "u", json: #"{"value": [1], "ttl_seconds": 0}"#),
                .unprocessableContent, fields: ["value", "ttl_seconds"])
            try expectProblem(
                try await client.call(.put, "/db/cache/\(key)", as: "u", json: #"{"value": {}, "ttl_seconds": 2592001}"#),
                .unprocessableContent, fields: ["ttl_seconds"])
            try expectProblem(try await client.call(.put, "/db/cache/\(key)", as: "u", json: "{}"), .unprocessableContent, fields: ["value", "ttl_seconds"])
            let big = String(repeating: "x", count: 1024 * 1024)
            try expectProblem(
                try await client.call(.put, "/db/cache/\(key)", as: "u", json: #"{"value": {"s": "\#(big)"}, "ttl_seconds": 5}"#),
                .unprocessableContent, fields: ["value"])
            let justFits = String(repeating: "x", count: 1024 * 1024 - 8)  // {"s":"…"} is 8 bytes more
            #expect(try await client.call(.put, "/db/cache/\(key)", as: "u", json: #"{"value": {"s": "\#(justFits)"}, "ttl_seconds": 5}"#).status == .ok)
            let huge = String(repeating: "x", count: 2 * 1024 * 1024)
            try expectProblem(
                try await client.call(.put, "/db/cache/\(key)", as: "u", json: #"{"value": {"s": "\#(huge)"}, "ttl_seconds": 5}"#), .contentTooLarge)
            try expectProblem(try await client.call(.put, "/db/cache/\(key)", as: "u", json: "not json"), .badRequest)
        }
    }

    func remaining(_ prefix: String) async throws -> Int {
        try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT count(*) FROM result_cache WHERE key LIKE \(prefix + "/%")")[0].decode(0, as: Int.self)
        }
    }

    func idempotencyRecords(_ user: String) async throws -> Int {
        try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT count(*) FROM idempotency_keys WHERE user_id = \(user)")[0].decode(0, as: Int.self)
        }
    }
}

/// A small pool on the test database for service-level checks, shut down afterwards.
func withPool(_ body: (PostgresPool) async throws -> Void) async throws {
    var configuration = PostgresPoolConfiguration()
    configuration.maximumConnections = 2
    let pool = PostgresPool(
        configuration: configuration, connection: try PostgresConfiguration(connectionString: try TestDatabase.url()),
        logger: TestDatabase.logger)
    do {
        try await body(pool)
        await pool.shutdown()
    } catch {
        await pool.shutdown()
        throw error
    }
}
