import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import ResearchStore
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Exports hold a connection and a snapshot while the client reads: they are bounded, run on a
/// pool of their own, and a client that stops reading is cut off.
@Suite("Export limits", .serialized)
struct ExportLimitsTests {
    /// A user whose export is about 32 MiB: more than both ends' socket buffers hold (a few MiB
    /// each on loopback), so a reader that stops really stalls the server's writes. Seeded once
    /// for the suite (exports only read it).
    static let seeded = Task {
        let user = "exp-\(UUID().uuidString.prefix(8).lowercased())"
        try await seedUser(user, messages: 4000, contentBytes: 8192)
        return user
    }

    static func bigUser() async throws -> String { try await seeded.value }

    /// Sends the export request on a raw connection and reads just the status line, then leaves
    /// the rest unread. (The receive buffer keeps its default: a tiny one makes the kernel
    /// advertise no window, and the rest would then crawl in on zero-window probes.)
    static func startStalledExport(port: Int, user: String) async throws -> (RawConnection, String) {
        let connection = try RawConnection(port: port)
        connection.send("GET /db/users/\(user)/export HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: \(user)\r\n\r\n")
        let head = await connection.receive(atLeast: 12, timeout: 60)
        return (connection, String(head.prefix(12)))
    }

    @Test("one export over the limit is 503 with Retry-After; a reader that stops is cut off and its slot freed")
    func boundedAndDeadlined() async throws {
        let user = try await Self.bigUser()
        var limits = ExportLimits()
        limits.maximumConcurrent = 1
        limits.writeTimeout = .seconds(3)
        try await withAPI(exportLimits: limits) { client in
            let port = try #require(client.port)
            let (stalled, status) = try await Self.startStalledExport(port: port, user: user)
            #expect(status == "HTTP/1.1 200", "\(status)")
            let refused = try await client.call(.get, "/db/users/\(user)/export", as: user)
            try expectProblem(refused, .serviceUnavailable)
            #expect(refused.headers[.retryAfter] != nil)
            // The stalled export is cut off after its write deadline, which frees the slot.
            var admitted = false
            for _ in 0..<300 where !admitted {
                // Each try on a connection of its own, so a refused one leaves nothing behind.
                let (status, bytes) = try await TestClient.withClient(
                    host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120))
                ) { own in
                    let response = try await own.execute(
                        .init("/db/users/\(user)/export", method: .get, headers: [HTTPField.Name("X-User-ID")!: user]))
                    return (response.status, response.body?.readableBytes ?? 0)
                }
                admitted = status == .ok
                if admitted {
                    #expect(bytes > 32_000_000, "the export that followed was cut short")
                } else {
                    #expect(status == .serviceUnavailable)
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(admitted, "the stalled export never gave its slot back")
            let rest = await stalled.receive(timeout: 60)
            let (closed, received) = (rest.closed, rest.text.utf8.count)
            #expect(closed, "the server did not close the stalled connection (\(received) bytes read)")
            #expect(received < 32_000_000, "the stalled export was sent whole")
        }
    }

    @Test("ten readers at 1 KiB/s leave the request pool alone: 50 writers keep getting 2xx")
    func slowReadersDoNotStarveWriters() async throws {
        let user = try await Self.bigUser()
        let writer = uniqueUser("writer")
        // A long acquire timeout: on a loaded machine fifty writers may queue for a while, and
        // only a 503 from a pinned pool should fail this test.
        try await withAPI(pool: { $0.maximumConnections = 4; $0.acquireTimeout = .seconds(120) }) { client in
            let session = try await createSession(client, user: writer)
            let port = try #require(client.port)
            /// Fifty writers at once, each on its own connection.
            func writeRound() async throws -> [Duration] {
                try await withThrowingTaskGroup(of: (HTTPResponse.Status, Duration).self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            let started = ContinuousClock.now
                            let status = try await statusOnOwnConnection(
                                port: port, .post, "/db/messages/store", as: writer,
                                json: #"{"session_id": "\#(session)", "role": "user", "content": "w\#(index)"}"#)
                            return (status, ContinuousClock.now - started)
                        }
                    }
                    var latencies: [Duration] = []
                    for try await (status, latency) in group {
                        #expect(status == .created, "a writer got \(status)")
                        latencies.append(latency)
                    }
                    return latencies
                }
            }
            var baseline: [Duration] = []
            for _ in 0..<4 { baseline += try await writeRound() }

            var readers: [RawConnection] = []
            var statuses: [String] = []
            for _ in 0..<10 {
                let (connection, status) = try await Self.startStalledExport(port: port, user: user)
                readers.append(connection)
                statuses.append(status)
            }
            let stop = StopFlag()
            let trickles = readers.map { reader in Thread { reader.trickle(bytesPerSecond: 1024, until: stop) } }
            trickles.forEach { $0.start() }
            // The admitted exports first fill the socket buffers (a burst of CPU), then stall on
            // their readers: one round rides out the burst, the next four are measured.
            _ = try await writeRound()
            // The two admitted exports are stalled on their readers and hold none of the request
            // pool's connections.
            let health = try json(try await client.call(.get, "/db/health", as: writer))
            #expect((health["pool"] as? [String: Any])?["in_use"] as? Int == 0, "\(health)")
            var loaded: [Duration] = []
            for _ in 0..<4 { loaded += try await writeRound() }
            stop.set()

            #expect(statuses.filter { $0 == "HTTP/1.1 200" }.count == ExportLimits().maximumConcurrent, "\(statuses)")
            #expect(statuses.filter { $0 == "HTTP/1.1 503" }.count == 10 - ExportLimits().maximumConcurrent, "\(statuses)")
            func p99(_ values: [Duration]) -> Duration { values.sorted()[values.count * 99 / 100] }
            print("writers' p99: \(p99(baseline)) alone, \(p99(loaded)) with 10 slow export readers")
        }
    }
}

extension RawConnection {
    /// Waits on a thread of its own until at least `count` bytes arrived (or `timeout`), and
    /// returns them without reading more.
    func receive(atLeast count: Int, timeout: TimeInterval) async -> String {
        await withCheckedContinuation { continuation in
            Thread {
                var received: [UInt8] = []
                let deadline = Date().addingTimeInterval(timeout)
                var buffer = [UInt8](repeating: 0, count: count)
                while received.count < count, Date() < deadline {
                    var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
                    guard poll(&poller, 1, 100) > 0 else { continue }
                    let read = buffer.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, count - received.count, 0) }
                    if read <= 0 { break }
                    received += buffer[0..<read]
                }
                continuation.resume(returning: String(decoding: received, as: UTF8.self))
            }.start()
        }
    }

    /// Reads `bytesPerSecond` once a second until `stop` (blocking: run it on a thread of its own).
    func trickle(bytesPerSecond: Int, until stop: StopFlag) {
        var buffer = [UInt8](repeating: 0, count: bytesPerSecond)
        while !stop.isSet {
            _ = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            Thread.sleep(forTimeInterval: 1)
        }
    }
}

/// A flag one thread sets and others poll.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
