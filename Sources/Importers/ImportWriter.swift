import FoundationEssentials
import Postgres
import ResearchStore

/// Everything the importer says to PostgreSQL, parameterised, in one place. A batch is written in
/// one transaction holding whole sessions: users first (`ON CONFLICT DO NOTHING`), then the new
/// sessions and their messages by `COPY`, then other rows through a staging table and
/// `INSERT … ON CONFLICT DO NOTHING`. A run killed midway leaves whole batches behind, and the
/// next run skips those sessions as already present.
struct ImportWriter: Sendable {
    let connection: PostgresConnection

    static let sessionColumns = [
        "id", "user_id", "title", "status", "metadata", "message_count", "total_tokens", "created_at", "updated_at",
        "last_message_at",
    ]
    static let messageColumns = [
        "id", "session_id", "seq", "role", "content", "token_count", "token_count_estimated", "model", "metadata",
        "created_at", "tokens_o200k", "tokens_cl100k",
    ]

    /// A commit need not wait for its WAL flush: a crash loses at most the last batches, which a
    /// re-run writes again (never a half batch: that is atomicity, which stays).
    func prepareSession() async throws {
        try await connection.query("SET synchronous_commit = off")
    }

    /// Makes every batch committed so far durable before the summary says "imported": a commit
    /// with `synchronous_commit = on` returns once the WAL is flushed up to its record, which
    /// follows the batches' (any writer's) asynchronous commits.
    func flush() async throws {
        try await connection.query("SET synchronous_commit = on")
        try await connection.withTransaction { connection in
            _ = try await connection.query("SELECT pg_current_xact_id()")  // an xid: the commit writes a record
        }
    }

    /// The sessions of `ids` that exist already.
    func existingSessions(_ ids: [UUID]) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let rows = try await connection.query("SELECT id FROM sessions WHERE id = ANY(\(ids))")
        return Set(try rows.map { try $0.decode(0, as: UUID.self) })
    }

    /// The users of `ids` that exist already.
    func existingUsers(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try await connection.query("SELECT id FROM users WHERE id = ANY(\(ids))")
        return Set(try rows.map { try $0.decode(0, as: String.self) })
    }

    /// The keys among `keys` of rows of `table` that exist already: `id`s as text, bigints for
    /// analytics events and UUIDs for the rest (typed, so that the primary key is used).
    func existingRows(_ table: ImportTable, keys: [String]) async throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        let rows: PostgresRows
        if table == .analyticsEvents {
            let ids = keys.compactMap { Int64($0) }
            rows = try await connection.query("SELECT id::text FROM analytics_events WHERE id = ANY(\(ids))")
        } else {
            let ids = keys.compactMap { UUID(uuidString: $0) }
            rows = try await connection.query("SELECT id::text FROM \(identifier: table.rawValue) WHERE id = ANY(\(ids))")
        }
        return Set(try rows.map { try $0.decode(0, as: String.self) })
    }

    /// Writes one batch, all or nothing; returns the rows inserted per table.
    func write(_ batch: PreparedBatch) async throws -> [ImportTable: Int] {
        try await connection.withTransaction { connection in
            var inserted: [ImportTable: Int] = [:]
            if !batch.users.isEmpty {
                inserted[.users] = try await connection.query(
                    """
                    INSERT INTO users (id, first_seen, last_seen)
                    SELECT * FROM unnest(\(batch.users.map(\.id)), \(batch.users.map(\.firstSeen)), \(batch.users.map(\.lastSeen)))
                    ON CONFLICT (id) DO NOTHING
                    """
                ).affectedRows
            }
            let sessions = batch.sessions
            if !sessions.isEmpty {
                inserted[.sessions] = try await connection.copyFrom(table: "sessions", columns: Self.sessionColumns) { writer in
                    for session in sessions { try await writer.appendRow(Self.sessionRow(session)) }
                }
                inserted[.messages] = try await connection.copyFrom(table: "messages", columns: Self.messageColumns) { writer in
                    for session in sessions {
                        let sessionID = session.id.uuidString
                        for (index, message) in session.messages.enumerated() {
                            try await writer.appendRow(Self.messageRow(message, sessionID: sessionID, seq: index + 1))
                        }
                    }
                }
            }
            for table in ImportTable.allCases {
                let rows = batch.rows.filter { $0.table == table }
                guard !rows.isEmpty, let columns = RowColumns.of[table] else { continue }
                inserted[table] = try await insertRows(rows, into: table, columns: columns, on: connection)
            }
            if batch.rows.contains(where: { $0.table == .analyticsEvents }) {
                // Events keep their ids: the identity must not hand them out again.
                try await connection.query(
                    """
                    SELECT setval(pg_get_serial_sequence('analytics_events', 'id'),
                                  greatest((SELECT max(id) FROM analytics_events), nextval(pg_get_serial_sequence('analytics_events', 'id'))))
                    """)
            }
            return inserted
        }
    }

    /// Rows through a staging table (dropped at commit): `INSERT … OVERRIDING SYSTEM VALUE` keeps
    /// their own ids, also for identity columns, and `ON CONFLICT DO NOTHING` skips those present.
    private func insertRows(_ rows: [ImportedRow], into table: ImportTable, columns: [String], on connection: PostgresConnection)
        async throws -> Int
    {
        // Identifiers of our own tables and columns (constants, quoted): nothing of the source's.
        let target = PostgresQuery.quoteIdentifier(table.rawValue)
        let staging = PostgresQuery.quoteIdentifier("import_staging_\(table.rawValue)")
        let list = columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")
        try await connection.query(
            PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(staging) ON COMMIT DROP AS SELECT \(list) FROM \(target) WITH NO DATA"))
        _ = try await connection.copyFrom(table: "import_staging_\(table.rawValue)", columns: columns) { writer in
            for row in rows { try await writer.appendRow(row.values) }
        }
        return try await connection.query(
            PostgresQuery(
                unsafeSQL: "INSERT INTO \(target) (\(list)) OVERRIDING SYSTEM VALUE SELECT \(list) FROM \(staging) ON CONFLICT DO NOTHING")
        ).affectedRows
    }

    static func sessionRow(_ session: ImportedSession) -> [String?] {
        let counters = session.counters
        return [
            session.id.uuidString, session.userID, session.title, session.status, session.metadata.serialized,
            String(session.messages.count), String(counters.totalTokens), Timestamp.format(session.createdAt),
            Timestamp.format(max(session.updatedAt, session.createdAt)), counters.lastMessageAt.map(Timestamp.format),
        ]
    }

    static func messageRow(_ message: ImportedMessage, sessionID: String, seq: Int) -> [String?] {
        let counts = message.counts!
        return [
            message.id.uuidString, sessionID, String(seq), message.role, message.content, String(counts.tokenCount),
            counts.estimated ? "t" : "f", message.model, message.metadata.serialized, Timestamp.format(message.createdAt),
            counts.o200k.map(String.init), counts.cl100k.map(String.init),
        ]
    }
}

extension ImportedSession {
    /// `total_tokens` and `last_message_at` as the store keeps them after these messages
    /// (`last_message_at` never before the session's creation, as schema.sql requires).
    var counters: (totalTokens: Int, lastMessageAt: Date?) {
        let total = messages.reduce(0) { $0 + ($1.counts?.tokenCount ?? 0) }
        guard let last = messages.map(\.createdAt).max() else { return (total, nil) }
        return (total, lastMessageAt ?? max(last, createdAt))
    }
}

/// A batch ready to write: the users, sessions (with counted messages) and rows not yet present.
struct PreparedBatch: Sendable {
    /// Every owner the batch's rows need, present or not (`ON CONFLICT DO NOTHING`).
    var users: [ImportedUser] = []
    /// Of those, the ones new to the database: what a dry run counts as imported.
    var newUsers = 0
    var sessions: [ImportedSession] = []
    var rows: [ImportedRow] = []
}

/// The columns of the other tables' rows, in the order of `ImportedRow.values`.
enum RowColumns {
    static let of: [ImportTable: [String]] = [
        .researchRequests: [
            "id", "session_id", "user_id", "question", "workflow_type", "parameters", "status", "result", "error", "sources",
            "created_at", "started_at", "finished_at", "attempt", "worker_id", "lease_expires_at",
        ],
        .researchStatusHistory: ["research_id", "status", "at", "reason"],
        .feedback: ["id", "user_id", "target_type", "target_id", "rating", "comment", "created_at", "updated_at"],
        .llmUsage: [
            "id", "user_id", "provider", "model", "prompt_tokens", "completion_tokens", "duration_ms", "cost_usd", "session_id",
            "research_id", "request_id", "created_at",
        ],
        .analyticsEvents: ["id", "user_id", "session_id", "event_type", "properties", "duration_ms", "occurred_at", "received_at"],
    ]
}
