import Foundation
import TestSupport
import Testing

/// A stream on one server process while the database restarts under the writes of another
/// (`pg_ctl restart` of a cluster of the test's own): nothing acknowledged is missing from the
/// stream, nothing comes twice, and the stream either stays open or ends with an id it resumes from.
@Suite("Session stream across a database restart")
struct SessionStreamRestartTests {
    @Test("across pg_ctl restart, a stream on process A gets every message and research change made through process B")
    func restart() async throws {
        try await ThrowawayCluster.with(prefix: "stream") { try await run(on: $0) }
    }

    func run(on cluster: ThrowawayCluster) async throws {
        let migrated = try await cluster.script("migrate", ["--database-url", cluster.url])
        try #require(migrated.status == 0, "\(migrated.output)")
        let user = uniqueUser()
        let (portA, portB) = (try freePort(), try freePort())
        let environment = ["DATABASE_URL": cluster.url + "&connect_timeout=2", "LOG_LEVEL": "critical", "RATE_LIMIT_RPS": "0"]
        let serverA = try launchServer(port: portA, environment: environment)
        let serverB = try launchServer(port: portB, environment: environment)
        defer {
            serverA.terminate()
            serverB.terminate()
        }
        for port in [portA, portB] { try #require(try await waitUntilReady(port: port)) }
        let session = try #require(try await retrying { try await self.created(portB, "/db/sessions/create", user: user, #"{"title": "restart"}"#) })
        var reader = try EventStreamReader(port: portA, path: "/db/sessions/\(session)/stream", user: user)
        #expect(await reader.status() == 200)

        let before = 40
        for seq in 1...before { try await storeExactlyOnce(portB, user: user, session: session, seq: seq) }
        var received = await reader.events(before, timeout: 30)
        #expect(received.compactMap(\.id) == (1...before).map(String.init))

        let restarted = try await cluster.script("local-db", ["restart", "--name", cluster.name])
        try #require(restarted.status == 0, "\(restarted.output)")
        // At once, while process A's listener is most likely still reconnecting: a research
        // request created and started, and more messages.
        let research = try #require(
            try await retrying {
                try await self.created(
                    portB, "/db/research/create", user: user,
                    #"{"session_id": "\#(session)", "question": "q", "workflow_type": "stream.restart"}"#)
            })
        let started = try await retrying { () async throws -> Bool? in
            try await callOnOwnConnection(port: portB, .patch, "/db/research/\(research)", as: user, json: #"{"status": "running"}"#).status == .ok
                ? true : nil
        }
        #expect(started == true)
        let total = 80
        for seq in (before + 1)...total { try await storeExactlyOnce(portB, user: user, session: session, seq: seq) }

        // Whatever the stream sends until it has every message and the running request; a stream
        // that ended is resumed from the last id it sent, as a client would.
        let deadline = Date().addingTimeInterval(60)
        var resumptions = 0
        func complete() -> Bool {
            received.last(where: { $0.event == "message" })?.id == String(total)
                && received.contains { $0.event == "research" && $0.object["status"] as? String == "running" }
        }
        while !complete(), Date() < deadline {
            received += await reader.events(1, timeout: 1)
            if reader.peerClosed {
                let lastID = received.last(where: { $0.id != nil })?.id ?? "0"
                reader = try EventStreamReader(port: portA, path: "/db/sessions/\(session)/stream", user: user, headers: ["Last-Event-ID": lastID])
                #expect(await reader.status() == 200)
                resumptions += 1
            }
        }
        print("session stream across pg_ctl restart: \(received.count) events, \(resumptions) resumptions")
        #expect(received.filter { $0.event == "message" }.compactMap(\.id) == (1...total).map(String.init))
        let statuses = received.filter { $0.event == "research" && $0.object["id"] as? String == research }.map { $0.object["status"] as? String }
        #expect(statuses.last == "running", "\(statuses)")
    }

    /// Stores message `seq` through `port` exactly once: a try whose answer was lost (the database
    /// went away) is retried with the same `expected_seq`, and a `409` whose `current_seq` is
    /// `seq` means the earlier try committed.
    func storeExactlyOnce(_ port: Int, user: String, session: String, seq: Int) async throws {
        let body = #"{"session_id": "\#(session)", "expected_seq": \#(seq), "role": "user", "content": "m\#(seq)"}"#
        let stored = try await retrying { () async throws -> Bool? in
            let (status, answer) = try await callOnOwnConnection(port: port, .post, "/db/messages/store", as: user, json: body)
            if status == .created { return true }
            if status == .conflict, (try JSONSerialization.jsonObject(with: Data(buffer: answer)) as? [String: Any])?["current_seq"] as? Int == seq {
                return true
            }
            #expect(status == .serviceUnavailable, "store \(seq): \(status) \(String(buffer: answer))")
            return nil
        }
        #expect(stored == true, "message \(seq) was never stored")
    }

    /// The `id` of what a `201` to a POST through `port` created; nil otherwise.
    func created(_ port: Int, _ path: String, user: String, _ body: String) async throws -> String? {
        let (status, answer) = try await callOnOwnConnection(port: port, .post, path, as: user, json: body)
        guard status == .created else { return nil }
        return (try JSONSerialization.jsonObject(with: Data(buffer: answer)) as? [String: Any])?["id"] as? String
    }

    /// `attempt`'s value once it is not nil, trying for up to 30 s (a failed connection counts as nil).
    func retrying<Value>(_ attempt: () async throws -> Value?) async throws -> Value? {
        for _ in 0..<300 {
            if let value = try? await attempt() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }
}
