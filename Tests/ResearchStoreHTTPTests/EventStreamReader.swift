import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One Server-Sent Event as a test reads it.
struct ServerSentEvent: Sendable, Equatable {
    var event: String
    var id: String?
    var data: String
    /// When the bytes that completed it were received.
    var arrival = Date()

    /// The `data` line parsed as a JSON object.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
    }
}

/// A `GET …/stream` over a plain socket, read as it arrives (an HTTP client library would wait
/// for the end of the body). The chunked framing is skipped: each write of the server is one
/// chunk of whole events, so chunk lines fall between events. Events are parsed as they arrive,
/// once each, so reading a long stream costs no more per event than a short one.
final class EventStreamReader: @unchecked Sendable {
    // @unchecked Sendable: used by one test task at a time.
    let connection: RawConnection
    /// Everything received (head, events and framing).
    private var bytes: [UInt8] = []
    /// Received but not yet parsed, carriage returns dropped (the chunk framing's and the head's).
    private var pending: [UInt8] = []
    private var headParsed = false
    private var parsed: [ServerSentEvent] = []
    /// Keep-alive comments received so far.
    private(set) var keepAlives = 0
    /// How many events `events` returned so far.
    private var returned = 0
    /// True once the server closed the connection (cleanly or not).
    private(set) var peerClosed = false

    init(port: Int, path: String, user: String, headers: [String: String] = [:]) throws {
        connection = try RawConnection(port: port)
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: \(user)\r\n\(extra)\r\n")
    }

    /// The response head's status code, once it arrived.
    func status(timeout: TimeInterval = 10) async -> Int? {
        _ = await read(timeout: timeout) { $0.headParsed }
        guard bytes.starts(with: Array("HTTP/1.1 ".utf8)), bytes.count >= 12 else { return nil }
        return Int(String(decoding: bytes[9..<12], as: UTF8.self))
    }

    /// Everything received so far (head, events and framing).
    var received: String { String(decoding: bytes, as: UTF8.self) }

    /// Events until `count` more arrived (or `timeout`), after those returned before.
    func events(_ count: Int, timeout: TimeInterval = 10) async -> [ServerSentEvent] {
        let wanted = returned + count
        _ = await read(timeout: timeout) { $0.parsed.count >= wanted }
        let taken = Array(parsed[returned..<min(wanted, parsed.count)])
        returned += taken.count
        return taken
    }

    /// True once the server ended the body (the last, empty chunk).
    var ended: Bool { bytes.suffix(7).elementsEqual("\r\n0\r\n\r\n".utf8) }

    /// Waits up to `timeout` for the body to end.
    func waitForEnd(timeout: TimeInterval = 10) async -> Bool {
        await read(timeout: timeout) { $0.ended }
    }

    /// Takes newly received bytes: every block ended by a blank line is the head (the first) or
    /// an event or comment.
    private func ingest(_ received: ArraySlice<UInt8>) {
        let arrival = Date()
        bytes += received
        pending += received.filter { $0 != UInt8(ascii: "\r") }
        var start = 0
        var index = 0
        while index + 1 < pending.count {
            guard pending[index] == UInt8(ascii: "\n"), pending[index + 1] == UInt8(ascii: "\n") else {
                index += 1
                continue
            }
            let block = String(decoding: pending[start..<index], as: UTF8.self)
            if headParsed { parse(block, arrival: arrival) } else { headParsed = true }
            index += 2
            start = index
        }
        pending.removeFirst(start)
    }

    private func parse(_ block: String, arrival: Date) {
        var event: ServerSentEvent?
        for line in block.split(separator: "\n") {
            if line.hasPrefix(": keep-alive") { keepAlives += 1 }
            if line.hasPrefix("event: ") { event = ServerSentEvent(event: String(line.dropFirst(7)), id: nil, data: "", arrival: arrival) }
            if line.hasPrefix("id: ") { event?.id = String(line.dropFirst(4)) }
            if line.hasPrefix("data: ") { event?.data = String(line.dropFirst(6)) }
        }
        if let event { parsed.append(event) }
    }

    /// Reads until `done` says so, the peer closes, or `timeout` passes; on a thread of its own.
    private func read(timeout: TimeInterval, until done: @escaping @Sendable (EventStreamReader) -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread {
                let deadline = Date().addingTimeInterval(timeout)
                var buffer = [UInt8](repeating: 0, count: 65536)
                while !done(self), Date() < deadline {
                    var poller = pollfd(fd: self.connection.descriptor, events: Int16(POLLIN), revents: 0)
                    guard poll(&poller, 1, Int32(max(1, min(100, deadline.timeIntervalSinceNow * 1000)))) > 0 else { continue }
                    let count = buffer.withUnsafeMutableBytes { recv(self.connection.descriptor, $0.baseAddress, $0.count, 0) }
                    if count <= 0 {
                        self.peerClosed = true
                        break
                    }
                    self.ingest(buffer[0..<count])
                }
                continuation.resume(returning: done(self))
            }.start()
        }
    }
}
