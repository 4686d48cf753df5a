import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

/// Reads routed to a streaming replica (`DATABASE_REPLICA_URLS`) with read-your-writes through
/// `X-Consistency-Token`: the real server on a primary and a replica of the test's own, the
/// replica replaying 50 ms late.
@Suite("Read replicas and read-your-writes")
struct ReadReplicaTests {
    @Test("with the token a read always sees the write; without, reads use the replica; a stopped replica sends them to the primary")
    func readYourWrites() async throws {
        try await ThrowawayCluster.with(prefix: "ryw") { primary in
            let migrated = try await primary.script("migrate", ["--database-url", primary.url])
            try #require(migrated.status == 0, "\(migrated.output)")
            try await ThrowawayCluster.withReplica(of: primary, synchronous: false) { try await run(primary: primary, replica: $0) }
        }
    }

    func run(primary: ThrowawayCluster, replica: ThrowawayCluster) async throws {
        // Every commit reaches the replica's data 50 ms after it was made.
        try await replica.withConnection { connection in
            try await connection.query("ALTER SYSTEM SET recovery_min_apply_delay = '50ms'")
            try await connection.query("SELECT pg_reload_conf()")
        }
        let port = try freePort()
        let server = try launchServer(
            port: port,
            environment: [
                "DATABASE_URL": primary.url, "DATABASE_REPLICA_URLS": replica.url, "REPLICA_WAIT_MS": "500",
                "RATE_LIMIT_RPS": "0", "LOG_LEVEL": "critical", "DB_POOL_MAX": "16", "DB_REPLICA_POOL_MAX": "8",
            ])
        defer { server.terminate() }
        try #require(try await waitUntilReady(port: port))
        try #require(try await waitUntil { try await Self.health(port).replicas.first?["reachable"] as? Bool == true })

        // 10,000 writes, each read back at once with its token, 16 at a time.
        let user = uniqueUser()
        let before = try await Self.reads(port)
        let missing = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var missing = 0
                    for index in 0..<625 {
                        let title = "ryw \(worker)-\(index)"
                        let (created, token) = try await Self.call(port, .post, "/db/sessions/create", user: user, json: #"{"title": "\#(title)"}"#)
                        guard created.status == .created, let token, let id = created.object["id"] as? String else {
                            Issue.record("create: \(created.status) \(created.text)")
                            missing += 1
                            continue
                        }
                        let (read, _) = try await Self.call(port, .get, "/db/sessions/\(id)", user: user, token: token)
                        if read.status != .ok || read.object["title"] as? String != title {
                            missing += 1
                            print("read-your-writes: a read missed its write: \(read.status) \(read.text.prefix(300))")
                        }
                    }
                    return missing
                }
            }
            return try await group.reduce(0, +)
        }
        let afterTokens = try await Self.reads(port)
        let (replicaReads, primaryReads) = (afterTokens.replica - before.replica, afterTokens.primary - before.primary)
        print("read-your-writes: 10000 writes read back with their token: \(missing) missing; \(replicaReads) reads on the replica, \(primaryReads) on the primary")
        #expect(missing == 0, "a read with the token missed its write")
        #expect(replicaReads > 0, "no read waited for the replica: the token path to the replica is untested")

        // Without a token a read may be up to REPLICA_MAX_LAG_MS behind: it goes to the replica.
        let (old, _) = try await Self.call(port, .post, "/db/sessions/create", user: user, json: #"{"title": "old"}"#)
        let oldID = try #require(old.object["id"] as? String)
        try await Task.sleep(for: .milliseconds(300))
        for _ in 0..<100 { #expect(try await Self.call(port, .get, "/db/sessions/\(oldID)", user: user).response.status == .ok) }
        let untokened = try await Self.reads(port)
        print("without a token: \(untokened.replica - afterTokens.replica) of 100 reads on the replica")
        #expect(untokened.replica - afterTokens.replica >= 90)

        // A token this deployment did not issue.
        let (forged, _) = try await Self.call(port, .get, "/db/sessions/\(oldID)", user: user, token: "bm90IGEgdG9rZW4")
        #expect(forged.status == .badRequest)
        #expect(forged.text.contains("X-Consistency-Token"), "\(forged.text)")

        // The replica stops: reads go to the primary, without an error.
        let stopped = try await replica.script("local-db", ["stop", "--name", replica.name])
        try #require(stopped.status == 0, "\(stopped.output)")
        for _ in 0..<50 { #expect(try await Self.call(port, .get, "/db/sessions/\(oldID)", user: user).response.status == .ok) }
        let withoutReplica = try await Self.reads(port)
        #expect(withoutReplica.primary - untokened.primary >= 40, "reads did not move to the primary")
        #expect(try await waitUntil { try await Self.health(port).replicas.first?["reachable"] as? Bool == false })
    }

    struct Answer {
        var status: HTTPResponse.Status
        var text: String
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    }

    /// One request on a connection of its own; the answer and its `X-Consistency-Token`.
    static func call(
        _ port: Int, _ method: HTTPRequest.Method, _ path: String, user: String, json: String? = nil, token: String? = nil
    ) async throws -> (response: Answer, token: String?) {
        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(60))) { client in
            var headers: HTTPFields = [HTTPField.Name("X-User-ID")!: user]
            if json != nil { headers[.contentType] = "application/json" }
            if let token { headers[HTTPField.Name("X-Consistency-Token")!] = token }
            let response = try await client.execute(.init(path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }))
            return (
                Answer(status: response.status, text: String(buffer: response.body ?? ByteBuffer())),
                response.headers[HTTPField.Name("X-Consistency-Token")!]
            )
        }
    }

    /// `db_reads_total` by target, from `/metrics`.
    static func reads(_ port: Int) async throws -> (primary: Int, replica: Int) {
        let (metrics, _) = try await call(port, .get, "/metrics", user: "probe")
        func count(_ target: String) -> Int {
            let prefix = #"db_reads_total{target="\#(target)"} "#
            return metrics.text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
        }
        return (count("primary"), count("replica"))
    }

    static func health(_ port: Int) async throws -> (status: HTTPResponse.Status, replicas: [[String: Any]]) {
        let (health, _) = try await call(port, .get, "/db/health", user: "probe")
        return (health.status, health.object["replicas"] as? [[String: Any]] ?? [])
    }
}
