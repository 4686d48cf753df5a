import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to the test server, for what an HTTP client library will not do:
/// send half a request and stall, or send oversized headers.
final class RawConnection: @unchecked Sendable {
    let descriptor: Int32

    /// A connection to `port`; `receiveBuffer` caps the socket's receive buffer (set before
    /// connecting, so the window is small from the start), for a reader that stalls the server soon.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    /// Closes the sending side (a FIN), as a client that goes away does.
    func hangUp() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything received until the peer closes or `timeout` passes; `closed` tells which. The
    /// waiting happens on a thread of its own: blocking a thread of the cooperative pool could
    /// starve the server under test, which runs in this process.
    func receive(timeout: TimeInterval) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.receiveBlocking(timeout: timeout)) }.start()
        }
    }

    /// The same, blocking the calling thread.
    func receiveBlocking(timeout: TimeInterval) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}
