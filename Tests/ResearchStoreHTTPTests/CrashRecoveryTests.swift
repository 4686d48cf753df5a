import Foundation
import Logging
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real `research-store serve` process on a PostgreSQL cluster of its own, which crashes
/// (`pg_ctl stop -m immediate`: no shutdown checkpoint) under write load and comes back.
@Suite("Database crash and recovery")
struct CrashRecoveryTests {
    /// One answer as the client saw it; `status` is nil when the connection ended without one.
    struct Outcome: Sendable {
        var phase: Int
        var path: String
        var status: Int?
        var retryAfter: Bool
        var body: String
    }

    @Test("under write load, a database crash gives only 503 + Retry-After, loses no acknowledged write, and the server recovers")
    func crashUnderLoad() async throws {
        try await ThrowawayCluster.with(prefix: "crash") { try await run(on: $0) }
    }

    func run(on cluster: ThrowawayCluster) async throws {
        let migrated = try await cluster.script("migrate", ["--database-url", cluster.url])
        try #require(migrated.status == 0, "\(migrated.output)")
        // A commit is acknowledged only once it is on disk: what the test relies on.
        let durability = try await cluster.query("SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')")
        try #require(durability == "on on", "fsync and synchronous_commit must be on, are \(durability)")
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let port = try freePort()
        let server = try launchServer(
            port: port,
            environment: [
                "DATABASE_URL": cluster.url + "&connect_timeout=2", "RATE_LIMIT_RPS": "0", "LOG_FORMAT": "json",
                "LOG_LEVEL": "warning", "DB_POOL_MAX": "8",
            ],
            standardError: try FileHandle(forWritingTo: URL(fileURLWithPath: logPath)))
        let phase = Locked(0)
        let stop = Locked(false)
        let outcomes = Locked<[Outcome]>([])
        let sessions = Locked<[String]>([])
        let messages = Locked<[String]>([])
        let writers = DispatchGroup()
        defer {
            stop.withLock { $0 = true }
            writers.wait()
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        let ready = try await waitUntil { await Self.get(port: port, "/readyz")?.status == 200 }
        try #require(ready, "the server did not become ready")

        // Four clients, each creating a session then storing messages into it, on threads of their own.
        for writer in 0..<4 {
            DispatchQueue.global().async(group: writers) {
                var session: String?
                var attempt = 0
                while !stop.value {
                    attempt += 1
                    let (path, body) =
                        if let session, attempt % 4 != 0 {
                            ("/db/messages/store", #"{"session_id": "\#(session)", "role": "user", "content": "m\#(attempt)"}"#)
                        } else {
                            ("/db/sessions/create", #"{"title": "crash-\#(writer)-\#(attempt)"}"#)
                        }
                    let answer = Self.exchange(port: port, "POST", path, user: "crash-\(writer)", body: body)
                    outcomes.withLock {
                        $0.append(
                            Outcome(
                                phase: phase.value, path: path, status: answer?.status,
                                retryAfter: answer?.headers["retry-after"] != nil, body: String((answer?.body ?? "").prefix(300))))
                    }
                    guard let answer, answer.status == 201,
                        let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                        let id = object["id"] as? String
                    else {
                        usleep(10_000)  // a breather between failures, not a bound
                        continue
                    }
                    if path == "/db/sessions/create" {
                        sessions.withLock { $0.append(id) }
                        session = id
                    } else {
                        messages.withLock { $0.append(id) }
                    }
                }
            }
        }
        func acknowledged(in wanted: Int) -> Int { outcomes.value.filter { $0.phase == wanted && $0.status == 201 }.count }

        try #require(try await waitUntil { acknowledged(in: 0) >= 40 }, "no writes acknowledged before the crash")
        phase.withLock { $0 = 1 }
        let crashed = try await cluster.script("local-db", ["stop", "--name", cluster.name, "--mode", "immediate"])
        try #require(crashed.status == 0, "\(crashed.output)")
        // The load goes on while the database is down: wait for a good number of answers.
        let answeredDuringOutage = try await waitUntil { outcomes.value.filter { $0.phase == 1 }.count >= 40 }
        #expect(answeredDuringOutage, "the server stopped answering while the database was down")
        phase.withLock { $0 = 2 }
        let restarted = try await cluster.script("local-db", ["start", "--name", cluster.name])
        try #require(restarted.status == 0, "\(restarted.output)")
        let recovered = try await waitUntil { acknowledged(in: 2) >= 40 }
        stop.withLock { $0 = true }
        await withCheckedContinuation { continuation in writers.notify(queue: .global()) { continuation.resume() } }

        #expect(recovered, "the server did not serve writes again after the database came back")
        #expect(server.isRunning, "the server exited")
        #expect(await Self.get(port: port, "/readyz")?.status == 200)

        let all = outcomes.value
        let summary = Dictionary(grouping: all) { "phase \($0.phase) \($0.status.map(String.init) ?? "no status")" }
            .mapValues(\.count).sorted { $0.key < $1.key }
        print("crash test: \(summary)")
        // Every answer is a 201 or a 503 with Retry-After: never a 500, never a dropped connection.
        let wrong = all.filter { !($0.status == 201 || ($0.status == 503 && $0.retryAfter)) }
        #expect(wrong.isEmpty, "\(wrong.count) wrong answers, e.g. \(wrong.prefix(5))")
        if !wrong.isEmpty {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            print("crash test: server log lines at error level:\n" + log.split(separator: "\n").filter { $0.contains("error") }.prefix(20).joined(separator: "\n"))
        }
        #expect(all.contains { $0.phase == 1 && $0.status == 503 }, "no 503 while the database was down")

        // Every acknowledged write survived the crash.
        let sessionIDs = sessions.value.compactMap(UUID.init(uuidString:))
        let messageIDs = messages.value.compactMap(UUID.init(uuidString:))
        #expect(sessionIDs.count == sessions.value.count && messageIDs.count == messages.value.count)
        let storedSessions = try await cluster.count("SELECT count(*) FROM sessions WHERE id = ANY(\(sessionIDs))")
        let storedMessages = try await cluster.count("SELECT count(*) FROM messages WHERE id = ANY(\(messageIDs))")
        print("crash test: \(sessionIDs.count) sessions and \(messageIDs.count) messages acknowledged")
        #expect(storedSessions == sessionIDs.count, "acknowledged sessions lost in the crash")
        #expect(storedMessages == messageIDs.count, "acknowledged messages lost in the crash")
    }

    /// One HTTP/1.1 exchange on its own connection: status, headers (lower-cased names) and body,
    /// or nil when the connection ended without a status. Blocking: call it from a thread of its own.
    static func exchange(port: Int, _ method: String, _ path: String, user: String = "crash", body: String? = nil)
        -> (status: Int, headers: [String: String], body: String)?
    {
        guard let connection = try? RawConnection(port: port) else { return nil }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: x\r\nX-User-ID: \(user)\r\nConnection: close\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        connection.send(request + "\r\n" + (body ?? ""))
        let answer = connection.receiveBlocking(timeout: 60).text
        guard answer.hasPrefix("HTTP/1.1 "), let status = Int(answer.dropFirst(9).prefix(3)),
            let end = answer.range(of: "\r\n\r\n")
        else { return nil }
        var headers: [String: String] = [:]
        for line in answer[..<end.lowerBound].split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers, String(answer[end.upperBound...]))
    }

    /// `GET path` from a thread of its own.
    static func get(port: Int, _ path: String) async -> (status: Int, headers: [String: String], body: String)? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: exchange(port: port, "GET", path)) }.start()
        }
    }
}

/// A PostgreSQL cluster of `scripts/local-db` for one test (fsync on, as local-db configures
/// every cluster), removed with its files afterwards.
struct ThrowawayCluster: Sendable {
    let name: String
    let url: String
    let root: String

    static func start(prefix: String) async throws -> ThrowawayCluster {
        let root = try TestDatabase.repositoryRoot()
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        var cluster = ThrowawayCluster(name: name, url: "", root: root)
        let started = try await cluster.script("local-db", ["start", "--name", name])
        guard started.status == 0 else {
            await cluster.destroy()
            throw ClusterError(message: "local-db start failed: \(started.output)")
        }
        let url = try await cluster.script("local-db", ["url", "--name", name])
        guard url.status == 0 else {
            await cluster.destroy()
            throw ClusterError(message: "local-db url failed: \(url.output)")
        }
        cluster = ThrowawayCluster(name: name, url: url.output.trimmingCharacters(in: .whitespacesAndNewlines), root: root)
        return cluster
    }

    /// Runs `body` on a new cluster, removed afterwards whatever the outcome.
    static func with(prefix: String, _ body: (ThrowawayCluster) async throws -> Void) async throws {
        let cluster = try await start(prefix: prefix)
        do {
            try await body(cluster)
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    struct ClusterError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Runs `scripts/<name>` to its end on a thread of its own; output goes through a file, so a
    /// server the script starts in the background cannot hold a pipe open.
    func script(_ script: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let path = root + "/scripts/" + script
        return try await onOwnThread {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("script-\(UUID().uuidString).out")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: output) }
            let handle = try FileHandle(forWritingTo: output)
            defer { try? handle.close() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            process.waitUntilExit()
            return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
        }
    }

    /// Runs one statement on a connection of its own and closes it.
    func withConnection<Value: Sendable>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresConfiguration(connectionString: url), executor: TestDatabase.executor,
            logger: TestDatabase.logger)
        do {
            let value = try await body(connection)
            await connection.close()
            return value
        } catch {
            await connection.close()
            throw error
        }
    }

    func query(_ sql: PostgresQuery) async throws -> String {
        try await withConnection { try await $0.query(sql)[0].decode(0, as: String.self) }
    }

    func count(_ sql: PostgresQuery) async throws -> Int {
        try await withConnection { try await $0.query(sql)[0].decode(0, as: Int.self) }
    }

    /// Stops the cluster and deletes its files (and its root elsewhere, when local-db put it there).
    func destroy() async {
        _ = try? await script("local-db", ["stop", "--name", name])
        let meta = root + "/.data/" + name
        if let location = try? String(contentsOfFile: meta + "/location", encoding: .utf8) {
            try? FileManager.default.removeItem(atPath: location.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try? FileManager.default.removeItem(atPath: meta)
    }
}
