import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import ResearchStore
import Synchronization
import TestSupport
import Testing

/// Research workers: claims, leases and their renewal, the lease holder's exclusive right to
/// finish, and the sweep that returns (or fails) requests whose lease ran out. Every test claims
/// only workflow types of its own, so it never takes another test's requests.
@Suite("Research workers")
struct ResearchWorkerTests {
    static func uniqueType(_ name: String) -> String { "wt-\(UUID().uuidString.prefix(8).lowercased()).\(name)" }

    /// A caller with the role `worker`.
    static func asWorker(_ user: String) -> HTTPFields { [HTTPField.Name("X-User-Roles")!: "worker"] }

    func createResearch(_ client: some TestClientProtocol, user: String, session: String, type: String) async throws -> String {
        let response = try await client.call(
            .post, "/db/research/create", as: user, json: #"{"session_id": "\#(session)", "question": "q", "workflow_type": "\#(type)"}"#)
        #expect(response.status == .created)
        return try #require(try json(response)["id"] as? String)
    }

    func claim(_ client: some TestClientProtocol, worker: String, types: [String], lease: Int? = nil) async throws -> TestResponse {
        let typeList = types.map { "\"\($0)\"" }.joined(separator: ",")
        let leaseField = lease.map { #", "lease_seconds": \#($0)"# } ?? ""
        return try await client.call(
            .post, "/db/research/claim", as: worker, json: #"{"workflow_types": [\#(typeList)]\#(leaseField)}"#,
            headers: Self.asWorker(worker))
    }

    func date(_ value: Any?) throws -> Date {
        try #require(try Date((value as? String) ?? "", strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
    }

    @Test("a worker claims the oldest pending request of its types, running under its lease; 204 when none; others are 403")
    func claims() async throws {
        let user = uniqueUser()
        let (a, b) = (Self.uniqueType("a"), Self.uniqueType("b"))
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let first = try await createResearch(client, user: user, session: session, type: a)
            let other = try await createResearch(client, user: user, session: session, type: b)
            let third = try await createResearch(client, user: user, session: session, type: a)

            try expectProblem(try await client.call(.post, "/db/research/claim", as: user, json: #"{"workflow_types": ["\#(a)"]}"#), .forbidden)
            try expectProblem(try await claim(client, worker: "w1", types: [a], lease: 9), .unprocessableContent, fields: ["lease_seconds"])
            try expectProblem(try await claim(client, worker: "w1", types: ["Not A Type"]), .unprocessableContent, fields: ["workflow_types[0]"])

            let claimed = try await claim(client, worker: "w1", types: [a], lease: 30)
            #expect(claimed.status == .ok)
            let request = try json(claimed)
            #expect(request["id"] as? String == first)
            #expect(request["status"] as? String == "running")
            #expect(request["attempt"] as? Int == 1)
            #expect(request["worker_id"] as? String == "w1")
            let started = try date(request["started_at"])
            let lease = try date(request["lease_expires_at"])
            #expect(abs(lease.timeIntervalSince(started) - 30) < 1)
            #expect((request["history"] as? [[String: Any]])?.map { $0["status"] as? String } == ["pending", "running"])

            #expect(try json(try await claim(client, worker: "w2", types: [a]))["id"] as? String == third)
            #expect(try await claim(client, worker: "w2", types: [a]).status == .noContent)
            #expect(try json(try await claim(client, worker: "w2", types: [a, b]))["id"] as? String == other)

            // Workers see every request, not only their own sessions'.
            let seen = try await client.call(.get, "/db/research/\(first)", as: "w2", headers: Self.asWorker("w2"))
            #expect(seen.status == .ok)
            let listed = try json(try await client.call(.get, "/db/research?workflow_type=\(a)", as: "w2", headers: Self.asWorker("w2")))
            #expect(Set((listed["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }) == [first, third])
        }
    }

    @Test("the holder renews its lease and alone completes or fails the request; anyone else gets 409; an admin may")
    func holder() async throws {
        let user = uniqueUser()
        let type = Self.uniqueType("holder")
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let id = try await createResearch(client, user: user, session: session, type: type)
            let claimed = try json(try await claim(client, worker: "holder", types: [type], lease: 20))
            let firstLease = try date(claimed["lease_expires_at"])

            let renewed = try await client.call(
                .post, "/db/research/\(id)/heartbeat", as: "holder", json: #"{"lease_seconds": 120}"#, headers: Self.asWorker("holder"))
            #expect(renewed.status == .ok)
            #expect(try date(try json(renewed)["lease_expires_at"]) > firstLease.addingTimeInterval(90))
            try expectProblem(
                try await client.call(.post, "/db/research/\(id)/heartbeat", as: "intruder", json: "{}", headers: Self.asWorker("intruder")),
                .conflict)
            try expectProblem(try await client.call(.post, "/db/research/\(id)/heartbeat", as: user, json: "{}"), .forbidden)
            try expectProblem(
                try await client.call(.post, "/db/research/\(UUID())/heartbeat", as: "holder", json: "{}", headers: Self.asWorker("holder")),
                .notFound)

            let complete = #"{"status": "completed", "result": {"answer": 42}}"#
            let byOwner = try await client.call(.patch, "/db/research/\(id)", as: user, json: complete)
            try expectProblem(byOwner, .conflict)
            try expectProblem(
                try await client.call(.patch, "/db/research/\(id)", as: "intruder", json: #"{"status": "failed", "error": "x"}"#,
                    headers: Self.asWorker("intruder")), .conflict)
            let done = try await client.call(.patch, "/db/research/\(id)", as: "holder", json: complete, headers: Self.asWorker("holder"))
            #expect(done.status == .ok)
            let finished = try json(done)
            #expect(finished["status"] as? String == "completed")
            #expect(finished["lease_expires_at"] is NSNull)
            #expect(finished["worker_id"] as? String == "holder" && finished["attempt"] as? Int == 1)
            try expectProblem(
                try await client.call(.post, "/db/research/\(id)/heartbeat", as: "holder", json: "{}", headers: Self.asWorker("holder")),
                .conflict)

            let second = try await createResearch(client, user: user, session: session, type: type)
            #expect(try await claim(client, worker: "holder", types: [type]).status == .ok)
            let byAdmin = try await client.call(.patch, "/db/research/\(second)", as: "boss", admin: true, json: #"{"status": "failed", "error": "stuck"}"#)
            #expect(byAdmin.status == .ok)
            #expect(try json(byAdmin)["lease_expires_at"] is NSNull)
        }
    }

    /// Other tests' servers sweep the same database with the default `RESEARCH_MAX_ATTEMPTS` (3),
    /// so this one keeps it too: whichever process sweeps, the outcome is the same.
    @Test("a lease that runs out returns the request to pending; on the last allowed attempt it fails it")
    func expiry() async throws {
        let user = uniqueUser()
        let type = Self.uniqueType("expiry")
        var leases = ResearchLeaseSettings()
        leases.sweepInterval = .milliseconds(200)
        #expect(leases.maxAttempts == 3)
        try await withAPI(researchLeases: leases) { client in
            let session = try await createSession(client, user: user)
            let id = try await createResearch(client, user: user, session: session, type: type)
            let uuid = try #require(UUID(uuidString: id))
            func expireLease() async throws {
                _ = try await TestDatabase.withConnection { connection in
                    try await connection.query(
                        "UPDATE research_requests SET lease_expires_at = now() - interval '1 second' WHERE id = \(uuid)")
                }
            }
            func waitForStatus(_ status: String) async throws -> [String: Any] {
                for _ in 0..<100 {
                    let request = try json(try await client.call(.get, "/db/research/\(id)", as: user))
                    if request["status"] as? String == status { return request }
                    try await Task.sleep(for: .milliseconds(100))
                }
                Issue.record("the request did not become \(status)")
                return [:]
            }

            #expect(try await claim(client, worker: "crashing", types: [type], lease: 10).status == .ok)
            try await expireLease()
            let returned = try await waitForStatus("pending")
            #expect(returned["started_at"] is NSNull && returned["lease_expires_at"] is NSNull)
            #expect(returned["attempt"] as? Int == 1)
            let last = (returned["history"] as? [[String: Any]])?.last
            #expect(last?["status"] as? String == "pending" && last?["reason"] as? String == "lease_expired")
            try expectProblem(
                try await client.call(.post, "/db/research/\(id)/heartbeat", as: "crashing", json: "{}", headers: Self.asWorker("crashing")),
                .conflict)

            let again = try json(try await claim(client, worker: "second", types: [type], lease: 10))
            #expect(again["id"] as? String == id && again["attempt"] as? Int == 2)
            try await expireLease()
            #expect(try await waitForStatus("pending")["attempt"] as? Int == 2)
            let third = try json(try await claim(client, worker: "third", types: [type], lease: 10))
            #expect(third["attempt"] as? Int == 3)
            try await expireLease()
            let failed = try await waitForStatus("failed")
            #expect((failed["error"] as? String)?.contains("RESEARCH_MAX_ATTEMPTS") == true)
            #expect(
                (failed["history"] as? [[String: Any]])?.map { $0["status"] as? String }
                    == ["pending", "running", "pending", "running", "pending", "running", "failed"])
            #expect((failed["history"] as? [[String: Any]])?.last?["reason"] as? String == "lease_expired")
            #expect(try await claim(client, worker: "second", types: [type]).status == .noContent)
        }
    }

    @Test("the example worker of the README claims, heartbeats and completes every pending request of its type")
    func exampleWorker() async throws {
        let user = uniqueUser()
        let type = Self.uniqueType("example")
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try await createResearch(client, user: user, session: session, type: type)) }
            let port = try #require(client.port)
            let output = try await runToEnd(
                "/usr/bin/python3",
                [try TestDatabase.repositoryRoot() + "/scripts/example-worker.py", "--url", "http://127.0.0.1:\(port)", "--types", type,
                 "--lease", "10", "--once"],
                environment: ["PATH": "/usr/bin:/bin"])
            #expect(output.status == 0, "\(output.text)")
            #expect(output.text.contains("example-worker: 3 requests handled"), "\(output.text)")
            for id in ids {
                let request = try json(try await client.call(.get, "/db/research/\(id)", as: user))
                #expect(request["status"] as? String == "completed")
                #expect(request["worker_id"] as? String == "example-worker")
                #expect((request["result"] as? [String: Any])?["worker"] as? String == "example-worker")
            }
        }
    }

    /// What the workers of `manyWorkers` share.
    final class Shared: Sendable {
        let claims = Mutex<[Claim]>([])
        let completed = Atomic<Int>(0)
    }

    /// One claim as a worker saw it.
    struct Claim: Sendable {
        var id: String
        var attempt: Int
        var worker: String
        var startedAt: String
        var leaseExpiresAt: String
    }

    @Test("8 workers and 1,000 requests: each claimed once while its lease lives; killed workers' requests come back and finish")
    func manyWorkers() async throws {
        let user = uniqueUser()
        let type = Self.uniqueType("load")
        var leases = ResearchLeaseSettings()
        leases.sweepInterval = .seconds(1)
        try await withAPI(researchLeases: leases, pool: { $0.acquireTimeout = .seconds(120) }) { client in
            let session = try #require(UUID(uuidString: try await createSession(client, user: user)))
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    """
                    WITH created AS (
                        INSERT INTO research_requests (id, session_id, user_id, question, workflow_type, created_at)
                        SELECT gen_random_uuid(), \(session), \(user), 'question ' || n, \(type),
                               date_trunc('milliseconds', now()) + n * interval '1 millisecond'
                        FROM generate_series(1, 1000) AS n
                        RETURNING id, created_at
                    )
                    INSERT INTO research_status_history (research_id, status, at) SELECT id, 'pending', created_at FROM created
                    """)
            }
            let port = try #require(client.port)
            let shared = Shared()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    let worker = "worker-\(index)"
                    // Workers 6 and 7 claim five requests each and die without finishing them.
                    let dies = index >= 6
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120))) { http in
                            var headers: HTTPFields = [HTTPField.Name("X-User-ID")!: worker, HTTPField.Name("X-User-Roles")!: "worker"]
                            headers[.contentType] = "application/json"
                            var claimedHere = 0
                            let deadline = ContinuousClock.now + .seconds(90)
                            while shared.completed.load(ordering: .relaxed) < 1000, ContinuousClock.now < deadline {
                                let response = try await http.execute(
                                    .init("/db/research/claim", method: .post, headers: headers,
                                          body: ByteBuffer(string: #"{"workflow_types": ["\#(type)"], "lease_seconds": 10}"#)))
                                if response.status == .noContent {
                                    if dies { return }
                                    try await Task.sleep(for: .milliseconds(200))
                                    continue
                                }
                                #expect(response.status == .ok)
                                let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body ?? ByteBuffer())) as? [String: Any])
                                let id = try #require(object["id"] as? String)
                                shared.claims.withLock {
                                    $0.append(Claim(
                                        id: id, attempt: object["attempt"] as? Int ?? -1, worker: worker,
                                        startedAt: object["started_at"] as? String ?? "", leaseExpiresAt: object["lease_expires_at"] as? String ?? ""))
                                }
                                claimedHere += 1
                                if dies {
                                    if claimedHere == 5 { return }
                                    continue
                                }
                                let done = try await http.execute(
                                    .init("/db/research/\(id)", method: .patch, headers: headers,
                                          body: ByteBuffer(string: #"{"status": "completed", "result": {"by": "\#(worker)"}}"#)))
                                #expect(done.status == .ok, "\(worker) completing \(id)")
                                if done.status == .ok { shared.completed.add(1, ordering: .relaxed) }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(shared.completed.load(ordering: .relaxed) == 1000)

            let all = shared.claims.withLock { $0 }
            let byRequest = Dictionary(grouping: all, by: \.id)
            #expect(byRequest.count == 1000)
            let killed = all.filter { $0.worker == "worker-6" || $0.worker == "worker-7" }
            #expect(killed.count == 10)
            for (id, requestClaims) in byRequest {
                let sorted = requestClaims.sorted { $0.attempt < $1.attempt }
                #expect(sorted.map(\.attempt) == Array(1...sorted.count), "\(id): attempts \(sorted.map(\.attempt))")
                // A new claim only after the previous lease ran out.
                for (previous, next) in zip(sorted, sorted.dropFirst()) {
                    #expect(next.startedAt >= previous.leaseExpiresAt, "\(id) claimed again while the lease lived")
                }
                let killedHere = requestClaims.contains { $0.worker == "worker-6" || $0.worker == "worker-7" }
                #expect(sorted.count == (killedHere ? 2 : 1), "\(id): \(sorted.count) claims")
            }
            // The killed workers' requests went back to pending within one sweep (1 s) of their
            // lease's end, give or take the machine's scheduling (2 s more).
            let rows = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    """
                    SELECT h.research_id::text, extract(epoch FROM h.at)::float8 FROM research_status_history h
                    JOIN research_requests r ON r.id = h.research_id
                    WHERE r.workflow_type = \(type) AND h.reason = 'lease_expired'
                    """
                ).map { try $0.decode((String, Double).self) }
            }
            #expect(rows.count == 10)
            for (id, returnedAt) in rows {
                let lease = try #require(killed.first { $0.id == id }?.leaseExpiresAt)
                let leaseEnd = try date(lease).timeIntervalSince1970
                #expect(returnedAt >= leaseEnd && returnedAt <= leaseEnd + 3, "\(id) returned \(returnedAt - leaseEnd) s after its lease")
            }
        }
    }
}
