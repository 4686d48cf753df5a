import Postgres
import TestSupport
import Testing

/// `LISTEN` on one connection, `NOTIFY` from another: `nextNotification`.
@Suite("Notifications")
struct NotificationTests {
    @Test("notifications arrive in commit order with their payloads, only after the sender commits")
    func order() async throws {
        let channel = TestDatabase.uniqueName("chan")
        let listener = try await TestDatabase.connect()
        let sender = try await TestDatabase.connect()
        try await listener.query("LISTEN \(identifier: channel)")
        try await sender.withTransaction { connection in
            try await connection.query("SELECT pg_notify(\(channel), 'in a transaction')")
            // Not delivered before the commit: nothing to read yet.
            let early = Task { try await listener.nextNotification() }
            try await Task.sleep(for: .milliseconds(200))
            early.cancel()
            await #expect(throws: CancellationError.self) { try await early.value }
        }
        for index in 1...50 { try await sender.query("SELECT pg_notify(\(channel), \("n\(index)"))") }
        let first = try await listener.nextNotification()
        #expect(first.channel == channel && first.payload == "in a transaction")
        for index in 1...50 {
            let next = try await listener.nextNotification()
            #expect(next.payload == "n\(index)")
        }
        // A cancelled wait leaves the connection usable.
        #expect(try await listener.query("SELECT 1")[0].decode(0, as: Int.self) == 1)
        await listener.close()
        await sender.close()
    }

    @Test("a listener whose connection is terminated throws connectionClosed instead of waiting for ever")
    func broken() async throws {
        let channel = TestDatabase.uniqueName("chan")
        let listener = try await TestDatabase.connect()
        try await listener.query("LISTEN \(identifier: channel)")
        let pid = try await listener.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        let waiting = Task { try await listener.nextNotification() }
        try await Task.sleep(for: .milliseconds(100))
        _ = try await TestDatabase.withConnection { try await $0.query("SELECT pg_terminate_backend(\(pid))") }
        do {
            _ = try await waiting.value
            Issue.record("a notification arrived on a terminated connection")
        } catch let error as PostgresError {
            #expect(error.code == .connectionClosed || error.isConnectionError, "\(error)")
        }
        await listener.close()
    }
}
