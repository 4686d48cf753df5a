import Synchronization

/// Ends a streamed response whose client stops reading: every write watched by `watch` must
/// complete within `timeout`, or `onStall` runs (it closes the connection, which fails the
/// pending write and so ends the stream and frees what it holds).
final class WriteDeadline: Sendable {
    let timeout: Duration
    private let writeStartedAt = Mutex<ContinuousClock.Instant?>(nil)

    private init(timeout: Duration) {
        self.timeout = timeout
    }

    /// Runs `body` with a watchdog that checks the write in progress a few times per `timeout`.
    static func run<Result: Sendable>(
        timeout: Duration, onStall: @escaping @Sendable () -> Void, _ body: (WriteDeadline) async throws -> Result
    ) async throws -> Result {
        let deadline = WriteDeadline(timeout: timeout)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let interval = min(timeout / 4, .seconds(1))
                while true {
                    try await TimerSleep.sleep(for: interval)
                    if deadline.isStalled {
                        onStall()
                        return
                    }
                }
            }
            defer { group.cancelAll() }
            return try await body(deadline)
        }
    }

    /// Runs one write under the deadline.
    func watch(_ write: () async throws -> Void) async throws {
        writeStartedAt.withLock { $0 = .now }
        defer { writeStartedAt.withLock { $0 = nil } }
        try await write()
    }

    private var isStalled: Bool {
        writeStartedAt.withLock { started in started.map { ContinuousClock.now - $0 >= timeout } ?? false }
    }
}
