#if canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// One thread blocked in `epoll_wait`, driving the connections whose sockets it reports ready.
///
/// Registrations are one-shot: reporting an event disarms the socket, so the thread sees a
/// connection again only after someone arms it with `epoll_ctl(MOD)`. Each registration's data is
/// the unretained address of its `LoopConnection` (the engine keeps them alive until `stop()`);
/// data 0 is the stop pipe.
final class EpollLoop: Sendable {
    private let epoll: Epoll
    private let descriptor: Int32
    /// A pipe whose read end is registered with data 0: a byte written stops the thread.
    private let stopRead: Int32
    private let stopWrite: Int32
    private let stopped = Mutex<CheckedContinuation<Void, Never>?>(nil)

    init() throws {
        epoll = try Epoll.load()
        descriptor = epoll.create(Int32(O_CLOEXEC))
        guard descriptor >= 0 else { throw BenchFailure("epoll_create1 failed: errno \(errno)") }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            close(descriptor)
            throw BenchFailure("pipe failed: errno \(errno)")
        }
        (stopRead, stopWrite) = (ends[0], ends[1])
        let status = epoll.control(descriptor, Epoll.controlAdd, socket: stopRead, events: Epoll.input, data: 0)
        guard status == 0 else { throw BenchFailure("epoll_ctl(ADD) of the stop pipe failed: errno \(status)") }
        let thread = Thread { [self] in run() }
        thread.name = "bench-event-loop"
        thread.start()
    }

    /// Adds `connection`'s socket, disarmed (no events asked for until `arm`).
    func register(_ connection: LoopConnection) throws {
        let status = epoll.control(
            descriptor, Epoll.controlAdd, socket: connection.socket, events: Epoll.oneShot, data: address(of: connection))
        guard status == 0 else { throw BenchFailure("epoll_ctl(ADD) failed: errno \(status)") }
    }

    /// Arms `connection`'s one-shot registration for `events`; returns 0 or errno. Ownership of the
    /// connection passes to the loop thread with this call (see `LoopConnection`).
    func arm(_ connection: LoopConnection, for events: UInt32) -> Int32 {
        epoll.control(
            descriptor, Epoll.controlModify, socket: connection.socket, events: events | Epoll.oneShot,
            data: address(of: connection))
    }

    /// Stops the thread and waits until it has left `epoll_wait` for good, then closes the descriptors.
    func stop() async {
        await withCheckedContinuation { continuation in
            stopped.withLock { $0 = continuation }
            var byte: UInt8 = 1
            _ = write(stopWrite, &byte, 1)
        }
        close(descriptor)
        close(stopRead)
        close(stopWrite)
    }

    private func address(of connection: LoopConnection) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(connection).toOpaque()))
    }

    private func run() {
        let capacity = 256
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity * Epoll.eventSize, alignment: 8)
        defer { buffer.deallocate() }
        var stopping = false
        while !stopping {
            let count = epoll.wait(descriptor, buffer, Int32(capacity), -1)
            if count < 0 {
                guard errno == EINTR else { fatalError("epoll_wait failed: errno \(errno)") }
                continue
            }
            for index in 0..<Int(count) {
                let (events, data) = Epoll.event(at: index, in: buffer)
                guard let pointer = UnsafeRawPointer(bitPattern: UInt(data)) else {
                    stopping = true
                    continue
                }
                Unmanaged<LoopConnection>.fromOpaque(pointer).takeUnretainedValue().handleReadiness(events)
            }
        }
        stopped.withLock { $0.take() }?.resume()
    }
}
#endif
