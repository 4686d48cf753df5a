import Foundation
@testable import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A connected pair of Unix stream sockets, closed after `body`.
private func withSocketPair<Result>(_ body: (Int32, Int32) async throws -> Result) async throws -> Result {
    var ends: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw POSIXError(.EIO) }
    defer { ends.forEach { close($0) } }
    return try await body(ends[0], ends[1])
}

private func sendByte(_ socket: Int32) {
    var byte: UInt8 = 1
    _ = write(socket, &byte, 1)
}

private func drain(_ socket: Int32) {
    var bytes = [UInt8](repeating: 0, count: 16)
    _ = recv(socket, &bytes, bytes.count, Int32(MSG_DONTWAIT))
}

@Suite("The readiness loop")
struct SocketReadinessLoopTests {
    @Test("a wait is resumed when its socket becomes readable; a writable socket is reported at once")
    func readinessResumesAWait() async throws {
        let loop = try SocketReadinessLoop()
        try await withSocketPair { ours, theirs in
            let registration = try loop.register(socket: ours)
            #expect(try await loop.wait(registration, for: .writable).contains(.writable))
            let waiting = Task { try await loop.wait(registration, for: .readable) }
            try await Task.sleep(for: .milliseconds(20))
            sendByte(theirs)
            #expect(try await waiting.value.contains(.readable))
            loop.deregister(registration)
        }
        await loop.stop()
    }

    @Test("a cancelled wait ends with CancellationError, and the socket can be awaited again")
    func cancelledWait() async throws {
        let loop = try SocketReadinessLoop()
        try await withSocketPair { ours, theirs in
            let registration = try loop.register(socket: ours)
            let waiting = Task { try await loop.cancellableWait(registration, for: .readable) }
            try await Task.sleep(for: .milliseconds(20))
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            // Cancelled before it began: it never arms the socket.
            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await loop.cancellableWait(registration, for: .readable)
            }
            await #expect(throws: CancellationError.self) { try await early.value }
            sendByte(theirs)
            #expect(try await loop.wait(registration, for: .readable).contains(.readable))
            loop.deregister(registration)
        }
        await loop.stop()
    }

    @Test("cancellation racing readiness resumes every wait exactly once")
    func cancellationRacesReadiness() async throws {
        let loop = try SocketReadinessLoop()
        try await withSocketPair { ours, theirs in
            let registration = try loop.register(socket: ours)
            var outcomes = (ready: 0, cancelled: 0)
            for _ in 0..<300 {
                let waiting = Task { try await loop.cancellableWait(registration, for: .readable) }
                sendByte(theirs)
                waiting.cancel()
                do {
                    _ = try await waiting.value
                    outcomes.ready += 1
                } catch is CancellationError {
                    outcomes.cancelled += 1
                }
                drain(ours)
            }
            #expect(outcomes.ready + outcomes.cancelled == 300)
            // A stale event from a cancelled wait may wake a later one early; it never loses one.
            sendByte(theirs)
            #expect(try await loop.wait(registration, for: .readable).contains(.readable))
            loop.deregister(registration)
        }
        await loop.stop()
    }

    @Test("stopping the loop fails a wait in progress instead of leaving it suspended")
    func stopFailsWaits() async throws {
        let loop = try SocketReadinessLoop()
        try await withSocketPair { ours, _ in
            let registration = try loop.register(socket: ours)
            let waiting = Task { try await loop.wait(registration, for: .readable) }
            try await Task.sleep(for: .milliseconds(20))
            await loop.stop()
            let error = try await #require(throws: PostgresError.self) { try await waiting.value }
            #expect(error.code == .connectionClosed)
        }
    }
}
