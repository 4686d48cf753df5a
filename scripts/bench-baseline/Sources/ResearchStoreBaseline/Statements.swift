// The baseline's SQL, one PostgresPreparedStatement per statement (PostgresNIO's documented shape),
// so that both modes send exactly the same text and binds:
//   query mode (default)       client.query(PostgresQuery(unsafeSQL: S.sql, binds: s.makeBindings())),
//                              what `client.query("… \(bind)")` builds: an unnamed statement, parsed
//                              and planned by PostgreSQL at every call;
//   BASELINE_PREPARED=true     client.execute(s): PostgresNIO prepares `S.name` once per connection
//                              (Parse on first use), then sends Bind/Execute only.

import Foundation
import Logging
import PostgresNIO

/// How the routes run their statements: on the client (a pooled connection per statement) or on the
/// connection of a transaction.
struct Database: Sendable {
    let client: PostgresClient
    let prepared: Bool

    func rows<S: PostgresPreparedStatement>(_ statement: S, logger: Logger) async throws -> [S.Row] {
        if prepared { return try await client.execute(statement, logger: logger).reduce(into: []) { $0.append($1) } }
        return try await client.query(PostgresQuery(unsafeSQL: S.sql, binds: statement.makeBindings()), logger: logger)
            .collect().map(statement.decodeRow)
    }

    func rows<S: PostgresPreparedStatement>(_ statement: S, on connection: PostgresConnection, logger: Logger) async throws -> [S.Row] {
        if prepared { return try await connection.execute(statement, logger: logger).reduce(into: []) { $0.append($1) } }
        return try await connection.query(PostgresQuery(unsafeSQL: S.sql, binds: statement.makeBindings()), logger: logger)
            .collect().map(statement.decodeRow)
    }
}

/// research-store's MessageStore.append for one message.
struct StoreStatement: PostgresPreparedStatement {
    static let sql = """
        WITH target AS (
            UPDATE sessions SET
                message_count = message_count + 1,
                total_tokens = total_tokens + $1,
                updated_at = greatest(date_trunc('milliseconds', now()), updated_at),
                last_message_at = greatest(date_trunc('milliseconds', now()), created_at)
            WHERE id = $2 AND status = 'active' AND user_id = $3
            RETURNING id, message_count - 1 AS base, last_message_at
        )
        INSERT INTO messages AS m
            (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at)
        SELECT new.id, target.id, target.base + new.position, new.role, new.content, new.token_count,
               new.estimated, nullif(new.model, ''), new.metadata, target.last_message_at
        FROM target,
             unnest(ARRAY[$4], ARRAY[$5], ARRAY[$6], ARRAY[$1], ARRAY[$7], ARRAY[$8], ARRAY[$9])
             WITH ORDINALITY AS new (id, role, content, token_count, estimated, model, metadata, position)
        RETURNING m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model,
            m.metadata, m.created_at
        """
    var tokens: Int, session: UUID, user: String, id: UUID, role: String, content: String
    var estimated: Bool, model: String, metadata: JSONValue

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 9)
        b.append(tokens); b.append(session); b.append(user); b.append(id); b.append(role); b.append(content)
        b.append(estimated); b.append(model); try b.append(metadata)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Message { try Message(row) }
}

/// research-store's SessionStore.create: the owner's users row upserted in the same statement.
struct CreateStatement: PostgresPreparedStatement {
    static let sql = """
        WITH owner AS (
            INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING
        )
        INSERT INTO sessions (id, user_id, title, metadata)
        VALUES ($2, $1, $3, $4)
        RETURNING id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at
        """
    var user: String, id: UUID, title: String, metadata: JSONValue

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 4)
        b.append(user); b.append(id); b.append(title); try b.append(metadata)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Session { try Session(row) }
}

// The four statements of research-store's ContextService.load.

struct ContextSessionStatement: PostgresPreparedStatement {
    static let sql = """
        SELECT id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at
        FROM sessions WHERE id = $1 AND user_id = $2
        """
    var session: UUID, user: String

    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings(capacity: 2)
        b.append(session); b.append(user)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Session { try Session(row) }
}

struct ContextMessagesStatement: PostgresPreparedStatement {
    static let sql = """
        SELECT m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model,
               m.metadata, m.created_at
        FROM (SELECT m.*, sum(m.token_count) OVER (ORDER BY m.seq DESC) AS tokens_so_far
              FROM messages m WHERE m.session_id = $1
              ORDER BY m.seq DESC LIMIT $2) m
        WHERE m.tokens_so_far <= $3 ORDER BY m.seq DESC
        """
    var session: UUID, maxMessages: Int, maxTokens: Int

    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings(capacity: 3)
        b.append(session); b.append(maxMessages); b.append(maxTokens)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Message { try Message(row) }
}

struct ContextSystemStatement: PostgresPreparedStatement {
    static let sql = """
        SELECT m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model,
               m.metadata, m.created_at
        FROM messages m WHERE m.session_id = $1 AND m.role = 'system'
        ORDER BY m.seq DESC LIMIT 1
        """
    var session: UUID

    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings(capacity: 1)
        b.append(session)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Message { try Message(row) }
}

struct ContextResearchStatement: PostgresPreparedStatement {
    static let sql = """
        SELECT id, question, workflow_type, result, finished_at FROM research_requests
        WHERE session_id = $1 AND status = 'completed'
        ORDER BY finished_at DESC, id DESC LIMIT 5
        """
    var session: UUID

    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings(capacity: 1)
        b.append(session)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Research {
        let (id, question, workflow, result, finished) = try row.decode((UUID, String, String, JSONValue?, Date?).self)
        return Research(id: id, question: question, workflow_type: workflow, result: result, finished_at: finished)
    }
}

/// The columns of research-store's AnalyticsStore.insert, the whole batch in one statement of array
/// binds (no session lookup: an event's user is the caller). Arrays bind as any other value, so it is
/// prepared too in BASELINE_PREPARED mode (little to gain: one statement per 1000 rows).
struct AnalyticsStatement: PostgresPreparedStatement {
    static let sql = """
        WITH owner AS (
            INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING
        )
        INSERT INTO analytics_events (user_id, session_id, event_type, properties, duration_ms, occurred_at)
        SELECT $1, nullif(e.session_id, '')::uuid, e.event_type, e.properties, nullif(e.duration_ms, $2),
               coalesce(nullif(e.occurred_at, '')::timestamptz, date_trunc('milliseconds', now()))
        FROM unnest($3, $4, $5, $6, $7) AS e (session_id, event_type, properties, duration_ms, occurred_at)
        """
    static let noDuration = -1.0
    var user: String, events: [AnalyticsBatch.Event]

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 7)
        b.append(user); b.append(Self.noDuration)
        b.append(events.map { $0.session_id?.uuidString ?? "" }); b.append(events.map(\.event_type))
        try b.append(events.map { $0.properties ?? .object([:]) }); b.append(events.map { $0.duration_ms ?? Self.noDuration })
        b.append(events.map { $0.occurred_at ?? "" })
        return b
    }
    func decodeRow(_ row: PostgresRow) throws {}
}
