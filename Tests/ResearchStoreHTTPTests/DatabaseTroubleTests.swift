import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import PostgresPool
@testable import ResearchStore
import TestSupport
import Synchronization
import Testing

/// Failures that are the database's moment, not the caller's fault, caused for real: each is a
/// `503` with `Retry-After` (never a `500`), and deadlocks are retried without the client noticing.
@Suite("Database trouble")
struct DatabaseTroubleTests {
    /// The test database's URL with server settings for every connection of the app.
    static func url(with settings: String) throws -> String {
        let options = "-c \(settings)".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        return try TestDatabase.url() + "&options=" + options
    }

    @Test("a read-only database (as right after a failover) answers writes 503 with Retry-After; reads work")
    func readOnly() async throws {
        let user = uniqueUser()
        let session = try await createSessionDirectly(user: user)
        try await withAPI(databaseURL: try Self.url(with: "default_transaction_read_only=on")) { client in
            let refused = try await client.call(.post, "/db/sessions/create", as: user, json: #"{"title": "t"}"#)
            try expectProblem(refused, .serviceUnavailable)
            #expect(refused.headers[.retryAfter] != nil)
            let stored = try await client.call(
                .post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)", "role": "user", "content": "x"}"#)
            try expectProblem(stored, .serviceUnavailable)
            #expect(try await client.call(.get, "/db/sessions/\(session)", as: user).status == .ok)
        }
    }

    @Test("the server's statement_timeout and lock_timeout on a blocked update are 503 with Retry-After")
    func timeouts() async throws {
        let user = uniqueUser()
        let session = try await createSessionDirectly(user: user)
        for setting in ["statement_timeout=300", "lock_timeout=300"] {
            try await TestDatabase.withConnection { blocker in
                try await blocker.query("BEGIN")
                try await blocker.query("SELECT 1 FROM sessions WHERE id = \(UUID(uuidString: session)!) FOR UPDATE")
                try await withAPI(databaseURL: try Self.url(with: setting)) { client in
                    let response = try await client.call(.patch, "/db/sessions/\(session)", as: user, json: #"{"title": "blocked"}"#)
                    try expectProblem(response, .serviceUnavailable)
                    #expect(response.headers[.retryAfter] != nil, "\(setting)")
                }
                try await blocker.query("ROLLBACK")
            }
        }
    }

    @Test("two units locking in opposite order deadlock; the loser is retried and both succeed")
    func deadlockRetried() async throws {
        let configuration = try TestDatabase.configuration()
        var poolConfiguration = PostgresPoolConfiguration()
        poolConfiguration.maximumConnections = 4
        let pool = PostgresPool(configuration: poolConfiguration, connection: configuration, logger: TestDatabase.logger)
        let first = Int64.random(in: 1...Int64.max / 2), second = first + 1
        let attempts = Attempts()
        let bothHoldTheirFirstLock = Rendezvous(parties: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (a, b) in [(first, second), (second, first)] {
                group.addTask {
                    try await database(table: "sessions") {
                        let attempt = attempts.next()
                        try await pool.withTransaction { connection in
                            try await connection.query("SELECT pg_advisory_xact_lock(\(a))")
                            if attempt <= 2 { await bothHoldTheirFirstLock.arrive() }
                            try await connection.query("SELECT pg_advisory_xact_lock(\(b))")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(attempts.count == 3, "a deadlock should have cost exactly one retry")
        await pool.shutdown()
    }

    @Test("every SQLSTATE that is the database's moment maps to 503 with Retry-After; others do not")
    func transientStates() {
        for state in ["57014", "40P01", "40001", "25006", "55P03", "53000", "53100", "53200", "53300", "53400", "57P04"] {
            var error = PostgresError(code: .server)
            error.sqlState = state
            let mapped = ServiceError.mapping(error, table: "sessions") as? ServiceError
            #expect(mapped?.kind == .unavailable && mapped?.retryAfterSeconds != nil, "\(state)")
        }
        var bug = PostgresError(code: .server)
        bug.sqlState = "42601"
        #expect(ServiceError.mapping(bug, table: "sessions") is PostgresError, "a syntax error is a bug: 500")
    }

    private func createSessionDirectly(user: String) async throws -> String {
        let id = UUID()
        try await TestDatabase.withConnection { connection in
            try await connection.query("INSERT INTO users (id) VALUES (\(user)) ON CONFLICT DO NOTHING")
            try await connection.query("INSERT INTO sessions (id, user_id, title) VALUES (\(id), \(user), 'trouble')")
        }
        return id.uuidString.lowercased()
    }
}

/// Counts attempts across tasks.
final class Attempts: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
    var count: Int { value.withLock { $0 } }
}

/// Lets `parties` tasks wait until all of them have arrived.
actor Rendezvous {
    private let parties: Int
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(parties: Int) { self.parties = parties }

    func arrive() async {
        arrived += 1
        if arrived >= parties {
            waiting.forEach { $0.resume() }
            waiting.removeAll()
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}
