#if canImport(Glibc)
import CLibPQ
import Foundation
import Postgres

/// The benchmark-only prototype of issue 11's second idea, kept for comparison with the wrapper
/// (which now works the same way): non-blocking libpq connections whose sockets one epoll thread
/// watches. Unlike the wrapper, its loop thread also reads the reply.
///
/// A statement costs the calling task a lease, a send and one suspension; the loop thread reads
/// the reply and resumes the task, which decodes on its own thread.
final class EventLoopEngine: LoadTarget {
    private let loop: EpollLoop
    private let pool: FairConnectionPool
    private let connections: [LoopConnection]
    /// The pinned variant: load tasks prefer the loop thread as their executor.
    private let pinsTasks: Bool

    private init(loop: EpollLoop, connections: [LoopConnection], pinsTasks: Bool) {
        self.loop = loop
        self.connections = connections
        self.pinsTasks = pinsTasks
        pool = FairConnectionPool(connections)
    }

    var leaseWaits: Int { pool.waits }
    var taskExecutor: (any TaskExecutor)? { pinsTasks ? loop : nil }

    /// Opens `count` connections (blocking libpq calls, on a thread of their own) with both statements
    /// prepared; `pinsTasks` selects the pinned variant.
    static func open(configuration: PostgresConfiguration, count: Int, pinsTasks: Bool) async throws -> EventLoopEngine {
        var parameters = configuration.parameters.filter { $0.keyword != "application_name" }
        parameters.append(("application_name", "research-store-bench-event-loop"))
        if configuration.value(of: "connect_timeout") == nil { parameters.append(("connect_timeout", "10")) }
        let loop = try EpollLoop()
        do {
            let connections = try await onOwnThread { [parameters] in
                var opened: [LoopConnection] = []
                do {
                    for _ in 0..<count {
                        opened.append(
                            try LoopConnection.open(parameters: parameters, statements: PreparedBenchStatement.all, loop: loop))
                    }
                    return opened
                } catch {
                    opened.forEach { $0.finish() }
                    throw error
                }
            }
            return EventLoopEngine(loop: loop, connections: connections, pinsTasks: pinsTasks)
        } catch {
            await loop.stop()
            throw error
        }
    }

    /// Runs `statement` on a leased connection, gives the connection back, then hands the result to
    /// `decode` on the calling task and clears it.
    func execute<Decoded>(
        _ statement: PreparedBenchStatement, _ parameters: BinaryParameters,
        decode: (OpaquePointer) throws -> Decoded
    ) async throws -> Decoded {
        try Task.checkCancellation()  // a failed task ends the run promptly, as the wrapper's lease does
        let connection = await pool.lease()
        let result: UnsafePGresult
        do {
            result = try await connection.execute(statement, parameters)
        } catch {
            pool.release(connection)
            throw error
        }
        pool.release(connection)
        defer { PQclear(result.pointer) }
        let status = PQresultStatus(result.pointer)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let message = String(cString: PQresultErrorMessage(result.pointer))
            throw BenchFailure("\(statement.name): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return try decode(result.pointer)
    }

    /// Stops the loop thread, then closes every connection (PQfinish may block: on a thread of its own).
    func close() async {
        await loop.stop()
        let connections = self.connections
        _ = try? await onOwnThread { connections.forEach { $0.finish() } }
    }
}

/// Runs blocking `body` on a new thread, so it never holds a cooperative-pool thread.
private func onOwnThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result(catching: body)) }.start()
    }
}
#endif
