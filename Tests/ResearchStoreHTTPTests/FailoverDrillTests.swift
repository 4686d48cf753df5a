import Foundation
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing

/// The failover drill (issue 14): the real server on a pg_auto_failover formation of the test's
/// own (`scripts/ha-cluster`: a monitor, a primary and its synchronous standby), 16 writers, and
/// the primary crashing under them. The monitor, not this test, promotes the standby.
@Suite("Failover drill")
struct FailoverDrillTests {
    /// How the standby replicates: synchronous (pg_auto_failover's default; a commit waits for
    /// it) or asynchronous (`ha-cluster start --async`).
    enum Replication: String, Sendable, CustomTestStringConvertible {
        case synchronous, asynchronous
        var testDescription: String { rawValue }
    }

    /// One answer a writer got: when its request was sent, when the answer came, and its status
    /// (nil: no answer at all).
    struct Answer: Sendable {
        var sent: ContinuousClock.Instant
        var at: ContinuousClock.Instant
        var status: Int?
    }

    /// What the writers saw, shared between them.
    final class Record: Sendable {
        let stop = Atomic<Bool>(false)
        let answers = Mutex<[Answer]>([])
        let acknowledged = Mutex<[String]>([])
    }

    @Test(
        "16 writers, the primary crashes, the standby is promoted: every answer is 201 or 503; with synchronous replication no acknowledged write is lost",
        arguments: [Replication.synchronous, .asynchronous])
    func drill(_ replication: Replication) async throws {
        let script = try TestDatabase.repositoryRoot() + "/scripts/ha-cluster"
        let name = "drill-" + UUID().uuidString.prefix(8).lowercased()
        let started = try await runToEnd(
            script, ["start", "--name", name] + (replication == .asynchronous ? ["--async"] : []), environment: [:])
        do {
            try #require(started.status == 0, "\(started.text)")
            let url = try #require(started.text.split(separator: "\n").last { $0.hasPrefix("postgresql://") }.map(String.init))
            try await run(url: url, script: script, name: name, replication: replication)
        } catch {
            _ = try? await runToEnd(script, ["stop", "--name", name], environment: [:])
            throw error
        }
        _ = try await runToEnd(script, ["stop", "--name", name], environment: [:])
    }

    func run(url: String, script: String, name: String, replication: Replication) async throws {
        let migrated = try await runToEnd(try TestDatabase.repositoryRoot() + "/scripts/migrate", ["--database-url", url], environment: [:])
        try #require(migrated.status == 0, "\(migrated.text)")
        // The formation replicates as asked: the primary waits for its standby, or does not.
        let primary = try await connectToPrimary(url: url)
        let standbys = try await primary.query("SELECT current_setting('synchronous_standby_names')")[0].decode(0, as: String.self)
        await primary.close()
        #expect(standbys.isEmpty == (replication == .asynchronous), "synchronous_standby_names = '\(standbys)'")
        let port = try freePort()
        let server = try launchServer(
            port: port, environment: ["DATABASE_URL": url, "RATE_LIMIT_RPS": "0", "LOG_LEVEL": "critical", "DB_POOL_MAX": "16"])
        defer { server.terminate() }
        try #require(try await waitUntilReady(port: port))

        let user = uniqueUser("drill")
        var sessions: [String] = []
        for _ in 0..<16 {
            let (status, body) = try await callOnOwnConnection(port: port, .post, "/db/sessions/create", as: user, json: #"{"title": "drill"}"#)
            try #require(status == .created)
            sessions.append(try #require((try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["id"] as? String))
        }

        let record = Record()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (writer, session) in sessions.enumerated() {
                group.addTask {
                    var index = 0
                    while !record.stop.load(ordering: .relaxed) {
                        index += 1
                        let content = "drill \(writer)-\(index)"
                        let sent = ContinuousClock.now
                        let status = try? await callOnOwnConnection(
                            port: port, .post, "/db/messages/store", as: user,
                            json: #"{"session_id": "\#(session)", "role": "user", "content": "\#(content)"}"#
                        ).status.code
                        record.answers.withLock { $0.append(Answer(sent: sent, at: .now, status: status)) }
                        if status == 201 { record.acknowledged.withLock { $0.append(content) } }
                        if status != 201 { try await Task.sleep(for: .milliseconds(50)) }
                    }
                }
            }
            group.addTask {
                defer { record.stop.store(true, ordering: .relaxed) }
                try await Task.sleep(for: .seconds(3))
                let killedAt = ContinuousClock.now
                let killed = try await runToEnd(script, ["kill-primary", "--name", name], environment: [:])
                try #require(killed.status == 0, "\(killed.text)")
                let primaryDown = ContinuousClock.now
                // A write sent once the old primary is down succeeds only on the promoted standby.
                func isBack(_ answer: Answer) -> Bool { answer.sent > primaryDown && answer.status == 201 }
                // Until writes succeed again (or 90 s), then 3 s more.
                let back = try await waitUntil(guard: .seconds(90), every: .milliseconds(100)) {
                    record.answers.withLock { $0.contains(where: isBack) }
                }
                if back { try await Task.sleep(for: .seconds(3)) }
                let firstSuccess = record.answers.withLock { $0.filter(isBack).map(\.at).min() }
                // The answers to writes sent while the primary was down, until the first 2xx.
                let during = record.answers.withLock { $0.filter { $0.sent > primaryDown } }
                var counts: [String: Int] = [:]
                for answer in during where firstSuccess.map({ answer.at <= $0 }) ?? true {
                    counts[answer.status.map(String.init) ?? "no answer", default: 0] += 1
                }
                let switchTime = firstSuccess.map { instant -> String in
                    let elapsed = instant - killedAt
                    return String(format: "%.1f s", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                } ?? "never"
                print(
                    "failover drill (\(replication)): first 2xx \(switchTime) after the kill; answers to writes sent meanwhile: \(counts.sorted { $0.key < $1.key })"
                )
                #expect(firstSuccess != nil, "no write succeeded within 90 s of the kill")
            }
            try await group.waitForAll()
        }

        let all = record.answers.withLock { $0 }
        let statuses = Set(all.map { $0.status.map(String.init) ?? "no answer" })
        #expect(statuses.isSubset(of: ["201", "503"]), "answers other than 201 and 503: \(statuses)")
        let written = record.acknowledged.withLock { $0 }
        let connection = try await connectToPrimary(url: url)
        let found = try await connection.query("SELECT count(*) FROM messages WHERE content = ANY(\(written))")[0].decode(0, as: Int.self)
        await connection.close()
        print("failover drill (\(replication)): \(written.count) writes acknowledged (201) of \(all.count) tries; lost: \(written.count - found)")
        if replication == .synchronous {
            #expect(found == written.count, "acknowledged writes lost: \(written.count - found)")
        } else {
            #expect(found <= written.count)
        }
    }

    /// A connection to whichever node is primary now (the URL's hosts with
    /// target_session_attrs=read-write), retried for up to 30 s.
    func connectToPrimary(url: String) async throws -> PostgresConnection {
        let configuration = try PostgresConfiguration(connectionString: url)
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await PostgresConnection.connect(configuration: configuration, executor: TestDatabase.executor, logger: TestDatabase.logger)
            } catch where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
