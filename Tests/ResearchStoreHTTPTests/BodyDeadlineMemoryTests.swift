import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every request body is read against a deadline (`BODY_READ_TIMEOUT_S`). When the body arrives
/// in time the deadline is cancelled, and it must free its memory then: a cancelled `Task.sleep`
/// held ~0.7 KiB until its deadline, so a server storing 8,000 messages a second grew by about
/// 170 MiB over a 30-second timeout. Measured on the server process, as an operator runs it.
@Suite("Body deadline memory")
struct BodyDeadlineMemoryTests {
    static let connections = 4
    static let requestsPerConnection = 5_000

    @Test("20,000 request bodies read in time leave the server's anonymous memory where it was")
    func deadlinesAreFreedWithTheirRequests() async throws {
        let port = try freePort()
        let server = try launchServer(
            port: port, environment: ["DATABASE_URL": try TestDatabase.url(), "LOG_LEVEL": "warning", "RATE_LIMIT_RPS": "0"])
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let ready = try await waitUntil(every: .milliseconds(100)) { (try? RawConnection(port: port)) != nil }
        #expect(ready, "the server did not start listening")

        // A body that is read whole, then refused (422) without a database round trip.
        let body = #"{"session_id":"not-a-uuid","role":"user","content":"hello"}"#
        let request = "POST /db/messages/store HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: memory\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try await sendConcurrently(request, port: port)  // brings malloc to its working size
        let before = try memoryKiB(pid: server.processIdentifier, field: "RssAnon")
        try await sendConcurrently(request, port: port)
        let growth = try memoryKiB(pid: server.processIdentifier, field: "RssAnon") - before
        print("body deadlines: server anonymous RSS \(before) KiB, +\(growth) KiB after 20,000 more requests")
        // Held until their deadline, 20,000 would be ~14 MiB.
        #expect(growth < 5 * 1024, "anonymous RSS grew by \(growth) KiB")
    }

    /// `requestsPerConnection` requests on each of `connections` connections, pipelined in
    /// batches; every answer must be the 422.
    private func sendConcurrently(_ request: String, port: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.connections {
                group.addTask {
                    let connection = try RawConnection(port: port)
                    let batch = 250
                    for _ in 0..<(Self.requestsPerConnection / batch) {
                        connection.send(String(repeating: request, count: batch))
                        let answered = await connection.receive(answers: batch, status: "422")
                        #expect(answered, "not every request was answered with 422")
                        if !answered { return }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

extension RawConnection {
    /// Reads until `answers` responses with `status` have arrived (true), or until the peer closes,
    /// a response with another status arrives, or 60 s pass (false). On a thread of its own.
    func receive(answers: Int, status: String) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread {
                let expected = Array("HTTP/1.1 \(status) ".utf8)
                let any = Array("HTTP/1.1 ".utf8)
                var received: [UInt8] = []
                var counted = 0
                var scanned = 0
                let deadline = Date().addingTimeInterval(60)
                while counted < answers, Date() < deadline {
                    let (chunk, closed) = self.receiveAvailable(timeout: deadline.timeIntervalSinceNow)
                    received += chunk
                    // Count status lines not yet counted; keep a tail in case one straddles chunks.
                    while let range = received[scanned...].firstRange(of: any) {
                        guard received[range.lowerBound...].starts(with: expected) else {
                            if received.count - range.lowerBound < expected.count { break }
                            return continuation.resume(returning: false)
                        }
                        counted += 1
                        scanned = range.upperBound
                    }
                    if closed { break }
                }
                continuation.resume(returning: counted >= answers)
            }.start()
        }
    }

    /// What one `recv` brings once the socket is readable (empty after `timeout`), and whether the peer closed.
    private func receiveAvailable(timeout: TimeInterval) -> (bytes: [UInt8], closed: Bool) {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(max(1, timeout * 1000))) > 0 else { return ([], false) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count <= 0 ? ([], true) : (Array(buffer[0..<count]), false)
    }
}
