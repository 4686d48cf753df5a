import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of the `messages` table.
struct MessageStore: Sendable {
    let pool: PostgresPool

    /// Why nothing was stored.
    enum Refusal: Error {
        case notFound, archived
        /// An optimistic append found the session at another seq: its last one, `current`.
        case seqMismatch(current: Int)
    }

    /// Appends `messages` to the session in one statement: the session's row is locked by the
    /// `UPDATE` that advances its counters, and the new `seq` values follow the old count, so
    /// concurrent writers (in any number of processes) never share or skip a number. All or nothing;
    /// with `expectedSeq`, nothing unless the first message gets that seq.
    func append(_ messages: [NewMessage], to sessionID: UUID, caller: Caller, expectedSeq: Int? = nil) async throws
        -> [Message]
    {
        let count = messages.count
        let tokens = messages.reduce(Int64(0)) { $0 + Int64($1.tokenCount) }
        let stored = try await pool.query(
            """
            WITH target AS (
                UPDATE sessions SET
                    message_count = message_count + \(count),
                    total_tokens = total_tokens + \(tokens),
                    updated_at = greatest(date_trunc('milliseconds', now()), updated_at),
                    last_message_at = greatest(date_trunc('milliseconds', now()), created_at)
                WHERE id = \(sessionID) AND status = 'active'
                  AND (\(caller.isAdmin) OR user_id = \(caller.userID))
                  AND (\(expectedSeq ?? 0) = 0 OR message_count + 1 = \(expectedSeq ?? 0))
                RETURNING id, message_count - \(count) AS base, last_message_at
            )
            INSERT INTO messages AS m
                (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at,
                 tokens_o200k, tokens_cl100k)
            SELECT new.id, target.id, target.base + new.position, new.role, new.content, new.token_count,
                   new.estimated, nullif(new.model, ''), new.metadata, target.last_message_at,
                   nullif(new.tokens_o200k, -1), nullif(new.tokens_cl100k, -1)
            FROM target,
                 unnest(\(messages.map(\.id)), \(messages.map(\.role)), \(messages.map(\.content)),
                        \(messages.map { Int64($0.tokenCount) }), \(messages.map(\.tokenCountEstimated)),
                        \(messages.map { $0.model ?? "" }), \(messages.map { PostgresRawJSON($0.metadata.serialized) }),
                        \(messages.map(\.o200kOrNone)), \(messages.map(\.cl100kOrNone)))
                 WITH ORDINALITY AS new (id, role, content, token_count, estimated, model, metadata, tokens_o200k,
                                         tokens_cl100k, position)
            RETURNING \(unescaped: Message.columnsButContent)
            """)
        guard stored.count == count else {
            throw try await refusal(sessionID: sessionID, caller: caller, expectedSeq: expectedSeq)
        }
        let contents = Dictionary(uniqueKeysWithValues: messages.map { ($0.id, $0.content) })
        return try stored.map { row in
            try Message(row: row, content: contents[try row.decode(0, as: UUID.self)] ?? "")
        }.sorted { $0.seq < $1.seq }
    }

    /// Appends each message to its own session, for many callers, in one statement (one commit):
    /// the group commit of single stores. Every item is judged alone — its session must be
    /// visible to its caller and active — so a refused item never fails the others. Items of one
    /// session are numbered in the order given, after the session's count, as `append` does.
    /// One result per item, in order; a refused item's error is a `Refusal` (or, should telling
    /// which one fail, that query's error: the others are committed all the same).
    func appendEach(_ appends: [MessageAppend]) async throws -> [Result<Message, any Error>] {
        let messages = appends.map(\.message)
        // `locked` takes every session row of the group before any is updated, in id order: two
        // groups sharing sessions (in this process or another replica) then queue on the first
        // row they share instead of each holding one the other waits for, a deadlock. The lock is
        // the one the UPDATE takes anyway (NO KEY UPDATE: inserts referencing the session still
        // run). A row another writer changed meanwhile is judged and counted in its newest state.
        let rows = try await pool.query(
            """
            WITH item AS (
                SELECT * FROM unnest(
                    \(messages.map(\.id)), \(appends.map(\.sessionID)), \(appends.map(\.caller.userID)),
                    \(appends.map(\.caller.isAdmin)), \(messages.map(\.role)), \(messages.map(\.content)),
                    \(messages.map { Int64($0.tokenCount) }), \(messages.map(\.tokenCountEstimated)),
                    \(messages.map { $0.model ?? "" }), \(messages.map { PostgresRawJSON($0.metadata.serialized) }),
                    \(messages.map(\.o200kOrNone)), \(messages.map(\.cl100kOrNone)), \(appends.map { $0.expectedSeq ?? 0 }))
                WITH ORDINALITY AS given (id, session_id, caller_id, caller_is_admin, role, content, token_count, estimated,
                                          model, metadata, tokens_o200k, tokens_cl100k, expected_seq, position)
            ),
            locked AS (
                SELECT id, user_id, status, message_count FROM sessions
                WHERE id = ANY(\(appends.map(\.sessionID)))
                ORDER BY id
                FOR NO KEY UPDATE
            ),
            accepted AS (
                SELECT item.*, row_number() OVER (PARTITION BY item.session_id ORDER BY item.position) AS rank
                FROM item JOIN locked ON locked.id = item.session_id
                WHERE locked.status = 'active' AND (item.caller_is_admin OR locked.user_id = item.caller_id)
                  -- An optimistic append is the first of its session here (MessageAppend.statements).
                  AND (item.expected_seq = 0 OR item.expected_seq = locked.message_count + 1)
            ),
            target AS (
                UPDATE sessions SET
                    message_count = message_count + totals.added,
                    total_tokens = total_tokens + totals.tokens,
                    updated_at = greatest(date_trunc('milliseconds', now()), updated_at),
                    last_message_at = greatest(date_trunc('milliseconds', now()), created_at)
                FROM (SELECT session_id, count(*) AS added, sum(token_count)::bigint AS tokens FROM accepted GROUP BY session_id)
                     AS totals
                WHERE sessions.id = totals.session_id
                RETURNING sessions.id, sessions.message_count - totals.added AS base, sessions.last_message_at
            )
            INSERT INTO messages AS m
                (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at,
                 tokens_o200k, tokens_cl100k)
            SELECT accepted.id, target.id, target.base + accepted.rank, accepted.role, accepted.content,
                   accepted.token_count, accepted.estimated, nullif(accepted.model, ''), accepted.metadata,
                   target.last_message_at, nullif(accepted.tokens_o200k, -1), nullif(accepted.tokens_cl100k, -1)
            FROM accepted JOIN target ON target.id = accepted.session_id
            RETURNING \(unescaped: Message.columnsButContent)
            """)
        let contents = Dictionary(uniqueKeysWithValues: messages.map { ($0.id, $0.content) })
        var stored: [UUID: Message] = [:]
        for row in rows {
            let message = try Message(row: row, content: contents[try row.decode(0, as: UUID.self)] ?? "")
            stored[message.id] = message
        }
        let refused = appends.filter { stored[$0.message.id] == nil }
        var refusals: [any Error] = []
        if !refused.isEmpty {
            do { refusals = try await self.refusals(refused) } catch { refusals = Array(repeating: error, count: refused.count) }
        }
        var next = refusals.makeIterator()
        return appends.map { append -> Result<Message, any Error> in
            if let message = stored[append.message.id] { return .success(message) }
            return .failure(next.next()!)
        }
    }

    /// Tells why `appendEach` items were refused: an unknown (or invisible) session, an archived
    /// one, or (an active one) another seq than expected.
    private func refusals(_ appends: [MessageAppend]) async throws -> [any Error] {
        let rows = try await pool.query(
            """
            SELECT item.position, sessions.status, sessions.message_count FROM unnest(
                \(appends.map(\.sessionID)), \(appends.map(\.caller.userID)), \(appends.map(\.caller.isAdmin)))
                WITH ORDINALITY AS item (session_id, caller_id, caller_is_admin, position)
            JOIN sessions ON sessions.id = item.session_id AND (item.caller_is_admin OR sessions.user_id = item.caller_id)
            """)
        var found: [Int: Refusal] = [:]
        for row in rows {
            let (position, status, count) = try row.decode((Int, String, Int).self)
            found[position] = Self.refusal(status: status, count: count, expectedSeq: appends[position - 1].expectedSeq)
        }
        return appends.indices.map { found[$0 + 1] ?? .notFound }
    }

    /// Tells why an append was refused: an unknown (or invisible) session, an archived one, or
    /// (an active one) another seq than expected.
    private func refusal(sessionID: UUID, caller: Caller, expectedSeq: Int?) async throws -> Refusal {
        let rows = try await pool.query(
            """
            SELECT status, message_count FROM sessions
            WHERE id = \(sessionID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            """)
        guard let row = rows.first else { return .notFound }
        let (status, count) = try row.decode((String, Int).self)
        return Self.refusal(status: status, count: count, expectedSeq: expectedSeq)
    }

    /// An active session refused only an optimistic append; without one it was not there yet
    /// for the statement (created by a transaction that committed after it began).
    private static func refusal(status: String, count: Int, expectedSeq: Int?) -> Refusal {
        guard status == "active" else { return .archived }
        return expectedSeq == nil ? .notFound : .seqMismatch(current: count)
    }

    func find(id: UUID, caller: Caller) async throws -> Message? {
        let rows = try await pool.query(
            """
            SELECT \(unescaped: Message.columns) FROM messages m JOIN sessions s ON s.id = m.session_id
            WHERE m.id = \(id) AND (\(caller.isAdmin) OR s.user_id = \(caller.userID))
            """)
        return try rows.first.map(Message.init(row:))
    }

    /// A page of the session's messages by `seq`; nil when the session is not visible. The
    /// visibility check and the page travel together, in one round trip (a pipeline).
    func page(sessionID: UUID, caller: Caller, ascending: Bool, afterSeq: Int?, limit: Int) async throws -> [Message]? {
        let page: PostgresQuery =
            ascending
            ? """
            SELECT \(unescaped: Message.columns) FROM messages m
            WHERE m.session_id = \(sessionID) AND m.seq > \(afterSeq ?? 0)
            ORDER BY m.seq ASC LIMIT \(limit)
            """
            : """
            SELECT \(unescaped: Message.columns) FROM messages m
            WHERE m.session_id = \(sessionID) AND m.seq < \(afterSeq ?? Int(Int32.max))
            ORDER BY m.seq DESC LIMIT \(limit)
            """
        let results = try await pool.withConnection { connection in
            try await connection.pipeline([
                "SELECT 1 FROM sessions WHERE id = \(sessionID) AND (\(caller.isAdmin) OR user_id = \(caller.userID))",
                page,
            ])
        }
        guard !results[0].isEmpty else { return nil }
        return try results[1].map(Message.init(row:))
    }

    /// A page of a session's messages for the export, by `seq`, after `afterSeq`.
    static func exportPage(sessionID: UUID, afterSeq: Int, limit: Int, on connection: PostgresConnection) async throws
        -> [Message]
    {
        try await connection.query(
            """
            SELECT \(unescaped: Message.columns) FROM messages m
            WHERE m.session_id = \(sessionID) AND m.seq > \(afterSeq)
            ORDER BY m.seq LIMIT \(limit)
            """
        ).map(Message.init(row:))
    }
}

extension NewMessage {
    /// The counts as array elements: -1 (no array element can be NULL here) for none, which the
    /// insert turns into NULL.
    fileprivate var o200kOrNone: Int64 { tokens.map { Int64($0.o200kBase) } ?? -1 }
    fileprivate var cl100kOrNone: Int64 { tokens.map { Int64($0.cl100kBase) } ?? -1 }
}
