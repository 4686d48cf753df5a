import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One Server-Sent Event as a test reads it.
struct ServerSentEvent: Sendable, Equatable {
    var event: String
    var id: String?
    var data: String

    /// The `data` line parsed as a JSON object.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
    }
}

/// A `GET …/stream` over a plain socket, read as it arrives (an HTTP client library would wait
/// for the end of the body). The chunked framing is skipped: each write of the server is one
/// chunk of whole events, so chunk lines fall between events.
final class EventStreamReader: @unchecked Sendable {
    // @unchecked Sendable: used by one test task at a time.
    let connection: RawConnection
    private var text = ""

    init(port: Int, path: String, user: String, headers: [String: String] = [:]) throws {
        connection = try RawConnection(port: port)
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: \(user)\r\n\(extra)\r\n")
    }

    /// The response head's status code, once it arrived.
    func status(timeout: TimeInterval = 10) async -> Int? {
        _ = await read(timeout: timeout) { $0.text.contains("\r\n\r\n") }
        guard text.hasPrefix("HTTP/1.1 "), let code = Int(text.dropFirst(9).prefix(3)) else { return nil }
        return code
    }

    /// Everything received so far (head, events and framing).
    var received: String { text }

    /// Events until `count` more arrived (or `timeout`), after those returned before.
    func events(_ count: Int, timeout: TimeInterval = 10) async -> [ServerSentEvent] {
        let already = returned
        _ = await read(timeout: timeout) { $0.parse().events.count >= already + count }
        let all = parse().events
        let taken = Array(all.dropFirst(already).prefix(count))
        returned += taken.count
        return taken
    }

    /// How many events `events` returned so far.
    private var returned = 0

    /// Keep-alive comments received so far.
    var keepAlives: Int { parse().keepAlives }

    /// True once the server ended the body (the last, empty chunk).
    var ended: Bool { text.hasSuffix("\r\n0\r\n\r\n") }

    /// Waits up to `timeout` for the body to end.
    func waitForEnd(timeout: TimeInterval = 10) async -> Bool {
        await read(timeout: timeout) { $0.ended }
    }

    /// Every complete event of the body so far. Carriage returns (the chunk framing's, and the
    /// head's) are dropped first: Swift counts "\r\n" as one Character, which would hide the "\n".
    private func parse() -> (events: [ServerSentEvent], keepAlives: Int) {
        let normalized = text.replacingOccurrences(of: "\r", with: "")
        guard let head = normalized.range(of: "\n\n") else { return ([], 0) }
        var blocks = normalized[head.upperBound...].components(separatedBy: "\n\n")
        blocks.removeLast()  // not terminated yet (or empty)
        var events: [ServerSentEvent] = []
        var keepAlives = 0
        for block in blocks {
            var event: ServerSentEvent?
            for line in block.split(separator: "\n") {
                if line.hasPrefix(": keep-alive") { keepAlives += 1 }
                if line.hasPrefix("event: ") { event = ServerSentEvent(event: String(line.dropFirst(7)), id: nil, data: "") }
                if line.hasPrefix("id: ") { event?.id = String(line.dropFirst(4)) }
                if line.hasPrefix("data: ") { event?.data = String(line.dropFirst(6)) }
            }
            if let event { events.append(event) }
        }
        return (events, keepAlives)
    }

    /// Reads until `done` says so, the peer closes, or `timeout` passes; on a thread of its own.
    private func read(timeout: TimeInterval, until done: @escaping @Sendable (EventStreamReader) -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread {
                let deadline = Date().addingTimeInterval(timeout)
                var buffer = [UInt8](repeating: 0, count: 65536)
                var bytes = Array(self.text.utf8)
                while !done(self), Date() < deadline {
                    var poller = pollfd(fd: self.connection.descriptor, events: Int16(POLLIN), revents: 0)
                    guard poll(&poller, 1, Int32(max(1, min(100, deadline.timeIntervalSinceNow * 1000)))) > 0 else { continue }
                    let count = buffer.withUnsafeMutableBytes { recv(self.connection.descriptor, $0.baseAddress, $0.count, 0) }
                    if count <= 0 { break }
                    bytes += buffer[0..<count]
                    self.text = String(decoding: bytes, as: UTF8.self)
                }
                continuation.resume(returning: done(self))
            }.start()
        }
    }
}
