import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real `research-store serve` process, stopped with SIGTERM while clients write to it.
@Suite("Graceful shutdown")
struct ShutdownTests {
    /// One HTTP/1.1 request on its own connection (`Connection: close`): status and body, or nil
    /// when the server could not be reached. Blocking: call it from a thread of its own.
    static func send(port: Int, _ method: String, _ path: String, user: String, body: String? = nil) -> (status: Int, body: String)? {
        guard let connection = try? RawConnection(port: port) else { return nil }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: x\r\nX-User-ID: \(user)\r\nConnection: close\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        connection.send(request + "\r\n" + (body ?? ""))
        let answer = connection.receiveBlocking(timeout: 30).text
        guard answer.hasPrefix("HTTP/1.1 "), let status = Int(answer.dropFirst(9).prefix(3)) else { return nil }
        let payload = answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? ""
        return (status, payload)
    }

    @Test("SIGTERM under write load: readiness turns false, every acknowledged write is stored, the process exits")
    func sigtermUnderLoad() async throws {
        let port = try freePort()
        // Logs go to a file: a pipe nobody drains would fill up and stall the server.
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("shutdown-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let launched = ContinuousClock.now
        let server = try launchServer(
            port: port,
            environment: [
                "DATABASE_URL": try TestDatabase.url(), "RATE_LIMIT_RPS": "0", "LOG_FORMAT": "json", "LOG_LEVEL": "info",
                "SHUTDOWN_DRAIN_DELAY_S": "5", "SHUTDOWN_TIMEOUT_S": "10",
            ],
            standardError: try FileHandle(forWritingTo: URL(fileURLWithPath: logPath)))
        let ready = try await waitUntil { await Self.get(port: port, "/readyz")?.status == 200 }
        try #require(ready, "the server did not become ready")
        print("shutdown test: ready \(ContinuousClock.now - launched) after launch")

        let acknowledged = Locked<[String]>([])
        let stop = Locked(false)
        // Writers on threads of their own (their socket calls block).
        let writers = DispatchGroup()
        for writer in 0..<4 {
            DispatchQueue.global().async(group: writers) {
                var attempt = 0
                while !stop.value {
                    attempt += 1
                    let body = #"{"title": "w\#(writer)-\#(attempt)"}"#
                    guard let answer = Self.send(port: port, "POST", "/db/sessions/create", user: "writer-\(writer)", body: body) else {
                        usleep(20_000)
                        continue
                    }
                    if answer.status == 201,
                        let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                        let id = object["id"] as? String
                    {
                        acknowledged.withLock { $0.append(id) }
                    }
                }
            }
        }
        // Under load: some writes acknowledged before the signal.
        try #require(try await waitUntil { acknowledged.value.count >= 20 }, "no writes acknowledged")
        let before = acknowledged.value.count
        let signalled = ContinuousClock.now
        kill(server.processIdentifier, SIGTERM)

        // Readiness turns false while the server still answers (the drain delay). Polled until seen
        // or until the server stops answering: the drain delay is the only window, so it is long.
        var sawNotReady = false
        _ = try await waitUntil(every: .milliseconds(10)) {
            guard let answer = await Self.get(port: port, "/readyz") else { return !server.isRunning }
            sawNotReady = answer.status == 503 && answer.body.contains("shutting down")
            return sawNotReady
        }
        #expect(sawNotReady, "/readyz did not report the shutdown")

        let exited = try await waitUntil { !server.isRunning }
        let stoppedAfter = ContinuousClock.now - signalled
        stop.withLock { $0 = true }
        await withCheckedContinuation { continuation in writers.notify(queue: .global()) { continuation.resume() } }
        #expect(exited, "still running 60 s after SIGTERM (the deadline is 10 s)")
        server.waitUntilExit()
        print("shutdown test: \(acknowledged.value.count) writes acknowledged (\(before) before SIGTERM); exited \(stoppedAfter) after it")
        #expect(server.terminationStatus == 0)
        #expect(before > 0)

        let ids = acknowledged.value.compactMap(UUID.init(uuidString:))
        let stored = try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT count(*) FROM sessions WHERE id = ANY(\(ids))")[0].decode(0, as: Int.self)
        }
        #expect(stored == ids.count, "acknowledged writes missing from the database")

        // The logs are JSON lines; each request has its line with id, route, status, duration and user.
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "a log line is not JSON")
        let requests = objects.filter { $0["message"] as? String == "request" && $0["http.route"] as? String == "/db/sessions/create" }
        #expect(requests.count >= ids.count)
        let line = try #require(requests.first)
        #expect(line["http.status"] as? String == "201" && line["http.method"] as? String == "POST")
        #expect((line["user.id"] as? String)?.hasPrefix("writer-") == true)
        #expect(line["request.id"] as? String != nil && line["duration_ms"] != nil && line["timestamp"] != nil)
        #expect(line["level"] as? String == "info")
    }

    @Test("started while the database is down, the server runs, answers 503, and recovers by itself when it returns")
    func databaseOutageAtStart() async throws {
        let database = try #require(URLComponents(string: try TestDatabase.url()))
        let forwarder = TCPForwarder(port: try freePort(), target: try #require(database.port))
        defer { forwarder.stop() }
        var url = database
        url.port = forwarder.port
        url.queryItems = (url.queryItems ?? []) + [URLQueryItem(name: "connect_timeout", value: "1")]
        let port = try freePort()
        let server = try launchServer(port: port, environment: ["DATABASE_URL": try #require(url.string), "LOG_LEVEL": "critical"])
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let live = try await waitUntil { await Self.get(port: port, "/livez")?.status == 200 }
        try #require(live, "the server did not start without its database")
        #expect(await Self.get(port: port, "/readyz")?.status == 503)
        #expect(await Self.get(port: port, "/db/health")?.status == 503)
        let refused = await Self.get(port: port, "/db/sessions")
        #expect(refused?.status == 503 && refused?.body.contains("retry") == true, "\(String(describing: refused))")

        try forwarder.start()
        let ready = try await waitUntil { await Self.get(port: port, "/readyz")?.status == 200 }
        #expect(ready, "the server did not recover when the database came back")
        #expect(await Self.get(port: port, "/db/sessions")?.status == 200)
    }

    /// `GET path` from a thread of its own.
    static func get(port: Int, _ path: String) async -> (status: Int, body: String)? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: send(port: port, "GET", path, user: "outage")) }.start()
        }
    }
}
