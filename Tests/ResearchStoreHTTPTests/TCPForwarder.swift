import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Forwards TCP connections from a loopback port to another (the test database), on threads of
/// its own: a database that is "down" until `start()` is called, for outage tests. `cut()`
/// also breaks the connections it forwards, as a network failure would.
final class TCPForwarder: @unchecked Sendable {
    let port: Int
    let target: Int
    private var listener: Int32 = -1
    /// The sockets of the connections forwarded so far.
    private let forwarded = Mutex<[Int32]>([])

    init(port: Int, target: Int) {
        self.port = port
        self.target = target
    }

    /// Starts listening and forwarding.
    func start() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        let target = self.target
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = Self.loopback(target)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else {
                    close(client)
                    close(upstream)
                    continue
                }
                self.forwarded.withLock { $0 += [client, upstream] }
                Thread { Self.pump(from: client, to: upstream) }.start()
                Thread { Self.pump(from: upstream, to: client) }.start()
            }
        }.start()
    }

    /// Stops accepting (connections already forwarded stay up).
    func stop() {
        if listener >= 0 {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
            listener = -1
        }
    }

    /// Stops accepting and breaks every forwarded connection (both ends see it end).
    func cut() {
        stop()
        for socket in forwarded.withLock({ sockets in defer { sockets = [] }; return sockets }) {
            shutdown(socket, Int32(SHUT_RDWR))
        }
    }

    private static func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            let sent = buffer.withUnsafeBytes { send(destination, $0.baseAddress, count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { break }
        }
        shutdown(destination, Int32(SHUT_WR))
        shutdown(source, Int32(SHUT_RD))
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}
