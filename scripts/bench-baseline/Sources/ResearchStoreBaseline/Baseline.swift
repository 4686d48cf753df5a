// research-store-baseline: the "obvious Swift alternative" that `scripts/bench --baseline` measures
// research-store against. Hummingbird 2 + PostgresNIO (one PostgresClient, its `query` API with
// interpolated binds, i.e. unnamed statements), the same SQL as research-store for the five
// benchmarked routes. A measuring stick only, never deployed, never built by CI.
//
// It deliberately skips what research-store does around that SQL, so the comparison favours it:
// no authentication (the caller is the X-User-ID header, 401 without it), no validation beyond
// Codable decoding, no idempotency keys, no rate limit, no metrics, no request log, no body limits
// other than Hummingbird's default, no ownership check of analytics session ids.
//
//   DATABASE_URL=postgresql://… HOST=127.0.0.1 PORT=8080 DB_POOL_MAX=32 research-store-baseline serve
//
// GET /db/health is a hook for scripts/bench (which waits for in_use 0 between wrk runs): here
// in_use counts the requests in flight other than itself, not pool leases.

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import Synchronization

// MARK: - Types

/// Any JSON value (metadata, properties, research results); stored as jsonb.
enum JSONValue: Codable, Sendable, PostgresCodable, PostgresArrayEncodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    static var psqlArrayType: PostgresDataType { .jsonbArray }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Double.self) { self = .number(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([JSONValue].self) { self = .array(v) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let v): try c.encode(v)
        case .number(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        }
    }
}

// Field names are the API's (snake_case), so no CodingKeys.
struct StoreMessage: Decodable {
    var session_id: UUID
    var role: String
    var content: String
    var token_count: Int?
    var model: String?
    var metadata: JSONValue?
}

struct Message: ResponseEncodable {
    var id: UUID
    var session_id: UUID
    var seq: Int
    var role: String
    var content: String
    var token_count: Int
    var token_count_estimated: Bool
    var model: String?
    var metadata: JSONValue
    var created_at: Date

    init(_ row: PostgresRow) throws {
        (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at) =
            try row.decode((UUID, UUID, Int, String, String, Int, Bool, String?, JSONValue, Date).self)
    }
}

struct CreateSession: Decodable {
    var title: String
    var metadata: JSONValue?
}

struct Session: ResponseEncodable {
    var id: UUID
    var user_id: String
    var title: String
    var status: String
    var metadata: JSONValue
    var message_count: Int
    var total_tokens: Int
    var created_at: Date
    var updated_at: Date
    var last_message_at: Date?

    init(_ row: PostgresRow) throws {
        (id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at) =
            try row.decode((UUID, String, String, String, JSONValue, Int, Int, Date, Date, Date?).self)
    }
}

struct Research: Encodable {
    var id: UUID
    var question: String
    var workflow_type: String
    var result: JSONValue?
    var finished_at: Date?
}

struct Context: ResponseEncodable {
    var session: Session
    var messages: [Message]
    var token_count: Int
    var truncated: Bool
    var omitted_messages: Int
    var research: [Research]
}

struct AnalyticsBatch: Decodable {
    struct Event: Decodable {
        var event_type: String
        var session_id: UUID?
        var properties: JSONValue?
        var duration_ms: Double?
        var occurred_at: String? // passed through to PostgreSQL's timestamptz input
    }
    var events: [Event]
}

struct Accepted: ResponseEncodable {
    var accepted: Int
}

struct Health: ResponseEncodable {
    var in_use: Int
    var waiting: Int
}

// MARK: - Helpers

/// A UUIDv7 (48-bit Unix milliseconds, then random bits), as research-store makes its ids.
func uuidV7() -> UUID {
    var u = UUID().uuid
    let ms = UInt64(Date().timeIntervalSince1970 * 1000)
    (u.0, u.1, u.2) = (UInt8(truncatingIfNeeded: ms >> 40), UInt8(truncatingIfNeeded: ms >> 32), UInt8(truncatingIfNeeded: ms >> 24))
    (u.3, u.4, u.5) = (UInt8(truncatingIfNeeded: ms >> 16), UInt8(truncatingIfNeeded: ms >> 8), UInt8(truncatingIfNeeded: ms))
    u.6 = u.6 & 0x0F | 0x70
    u.8 = u.8 & 0x3F | 0x80
    return UUID(uuid: u)
}

extension Request {
    func caller() throws -> String {
        guard let user = headers[HTTPField.Name("X-User-ID")!], !user.isEmpty else {
            throw HTTPError(.unauthorized, message: "X-User-ID header required")
        }
        return user
    }
}

let inFlight = Atomic<Int>(0)

struct InFlightMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        return try await next(request, context)
    }
}

/// DATABASE_URL as `scripts/local-db url` prints it: postgres[ql]://user:password@host:port/db?sslmode=…,
/// where the host may also be a unix socket directory (an empty host with ?host=/dir, or %2F-encoded).
func clientConfiguration(_ url: String) throws -> PostgresClient.Configuration {
    guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else {
        throw ConfigurationError("DATABASE_URL is not a postgres:// URL")
    }
    let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    let user = c.user ?? "postgres"
    let password = c.percentEncodedPassword?.removingPercentEncoding
    let database = String(c.path.dropFirst()).removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } ?? user
    let host = query["host"] ?? c.host?.removingPercentEncoding ?? ""
    let port = c.port ?? Int(query["port"] ?? "") ?? 5432
    if host.isEmpty || host.hasPrefix("/") {
        return .init(unixSocketPath: "\(host.isEmpty ? "/tmp" : host)/.s.PGSQL.\(port)", username: user, password: password, database: database)
    }
    switch query["sslmode"] ?? "prefer" {
    case "disable", "allow", "prefer": break // a local benchmark server: no TLS
    case let mode: throw ConfigurationError("sslmode=\(mode) is not supported by the baseline")
    }
    return .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
}

struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Routes

func routes(_ router: Router<BasicRequestContext>, db: PostgresClient) {
    router.get("/livez") { _, _ in HTTPResponse.Status.ok }
    router.get("/readyz") { _, context in
        try await db.query("SELECT 1", logger: context.logger)
        return HTTPResponse.Status.ok
    }
    router.get("/db/health") { _, _ in Health(in_use: inFlight.load(ordering: .relaxed) - 1, waiting: 0) }

    // The statement research-store's MessageStore.append runs for one message.
    router.post("/db/messages/store") { request, context -> EditedResponse<Message> in
        let caller = try request.caller()
        let body = try await request.decode(as: StoreMessage.self, context: context)
        let estimated = body.token_count == nil
        let tokens = body.token_count ?? (body.content.utf8.count + 3) / 4
        let rows = try await db.query(
            """
            WITH target AS (
                UPDATE sessions SET
                    message_count = message_count + 1,
                    total_tokens = total_tokens + \(tokens),
                    updated_at = greatest(date_trunc('milliseconds', now()), updated_at),
                    last_message_at = greatest(date_trunc('milliseconds', now()), created_at)
                WHERE id = \(body.session_id) AND status = 'active' AND user_id = \(caller)
                RETURNING id, message_count - 1 AS base, last_message_at
            )
            INSERT INTO messages AS m
                (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at)
            SELECT new.id, target.id, target.base + new.position, new.role, new.content, new.token_count,
                   new.estimated, nullif(new.model, ''), new.metadata, target.last_message_at
            FROM target,
                 unnest(ARRAY[\(uuidV7())], ARRAY[\(body.role)], ARRAY[\(body.content)], ARRAY[\(tokens)],
                        ARRAY[\(estimated)], ARRAY[\(body.model ?? "")], ARRAY[\(body.metadata ?? .object([:]))])
                 WITH ORDINALITY AS new (id, role, content, token_count, estimated, model, metadata, position)
            RETURNING m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model,
                m.metadata, m.created_at
            """, logger: context.logger).collect()
        guard let row = rows.first else { throw HTTPError(.notFound, message: "session not found") }
        return EditedResponse(status: .created, response: try Message(row))
    }

    // The four statements of research-store's ContextService.load in one REPEATABLE READ READ ONLY
    // transaction (research-store pipelines them; here one after the other, as PostgresNIO's API reads).
    router.get("/db/context/{id}") { request, context -> Context in
        let caller = try request.caller()
        let id = try context.parameters.require("id", as: UUID.self)
        let maxTokens = request.uri.queryParameters.get("max_tokens", as: Int.self) ?? 4000
        let maxMessages = request.uri.queryParameters.get("max_messages", as: Int.self) ?? 50
        let found = try await db.withTransaction(logger: context.logger) { connection -> Context? in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: context.logger)
            var session: Session?
            for try await row in try await connection.query(
                """
                SELECT id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at
                FROM sessions WHERE id = \(id) AND user_id = \(caller)
                """, logger: context.logger)
            {
                session = try Session(row)
            }
            guard let session else { return nil }
            var messages: [Message] = []
            for try await row in try await connection.query(
                """
                SELECT m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model,
                       m.metadata, m.created_at
                FROM (SELECT m.*, sum(m.token_count) OVER (ORDER BY m.seq DESC) AS tokens_so_far
                      FROM messages m WHERE m.session_id = \(id)
                      ORDER BY m.seq DESC LIMIT \(maxMessages)) m
                WHERE m.tokens_so_far <= \(maxTokens) ORDER BY m.seq DESC
                """, logger: context.logger)
            {
                messages.append(try Message(row))
            }
            var system: Message?
            for try await row in try await connection.query(
                """
                SELECT m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model,
                       m.metadata, m.created_at
                FROM messages m WHERE m.session_id = \(id) AND m.role = 'system'
                ORDER BY m.seq DESC LIMIT 1
                """, logger: context.logger)
            {
                system = try Message(row)
            }
            var research: [Research] = []
            for try await (rid, question, workflow, result, finished) in try await connection.query(
                """
                SELECT id, question, workflow_type, result, finished_at FROM research_requests
                WHERE session_id = \(id) AND status = 'completed'
                ORDER BY finished_at DESC, id DESC LIMIT 5
                """, logger: context.logger).decode((UUID, String, String, JSONValue?, Date?).self)
            {
                research.append(Research(id: rid, question: question, workflow_type: workflow, result: result, finished_at: finished))
            }
            messages.reverse()
            // The latest system message is kept first when it is older than the kept run and still fits.
            var tokens = messages.reduce(0) { $0 + $1.token_count }
            if let system, !messages.contains(where: { $0.id == system.id }),
                tokens + system.token_count <= maxTokens, messages.count < maxMessages
            {
                messages.insert(system, at: 0)
                tokens += system.token_count
            }
            return Context(
                session: session, messages: messages, token_count: tokens,
                truncated: messages.count < session.message_count, omitted_messages: session.message_count - messages.count,
                research: research)
        }
        guard let found else { throw HTTPError(.notFound, message: "session not found") }
        return found
    }

    // research-store's SessionStore.create: the owner's users row upserted in the same statement.
    router.post("/db/sessions/create") { request, context -> EditedResponse<Session> in
        let caller = try request.caller()
        let body = try await request.decode(as: CreateSession.self, context: context)
        let rows = try await db.query(
            """
            WITH owner AS (
                INSERT INTO users (id) VALUES (\(caller)) ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO sessions (id, user_id, title, metadata)
            VALUES (\(uuidV7()), \(caller), \(body.title), \(body.metadata ?? .object([:])))
            RETURNING id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at
            """, logger: context.logger).collect()
        guard let row = rows.first else { throw HTTPError(.internalServerError) }
        return EditedResponse(status: .created, response: try Session(row))
    }

    // The columns of research-store's AnalyticsStore.insert, the whole batch in one statement of
    // array binds (no session lookup: an event's user is the caller).
    router.post("/db/analytics/batch") { request, context -> EditedResponse<Accepted> in
        let caller = try request.caller()
        let events = try await request.decode(as: AnalyticsBatch.self, context: context).events
        let noDuration = -1.0
        try await db.query(
            """
            WITH owner AS (
                INSERT INTO users (id) VALUES (\(caller)) ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO analytics_events (user_id, session_id, event_type, properties, duration_ms, occurred_at)
            SELECT \(caller), nullif(e.session_id, '')::uuid, e.event_type, e.properties, nullif(e.duration_ms, \(noDuration)),
                   coalesce(nullif(e.occurred_at, '')::timestamptz, date_trunc('milliseconds', now()))
            FROM unnest(\(events.map { $0.session_id?.uuidString ?? "" }), \(events.map(\.event_type)),
                        \(events.map { $0.properties ?? .object([:]) }), \(events.map { $0.duration_ms ?? noDuration }),
                        \(events.map { $0.occurred_at ?? "" }))
                 AS e (session_id, event_type, properties, duration_ms, occurred_at)
            """, logger: context.logger)
        return EditedResponse(status: .accepted, response: Accepted(accepted: events.count))
    }
}

// MARK: - Main

@main
struct Baseline {
    static func main() async throws {
        guard CommandLine.arguments.dropFirst().first == "serve" else {
            FileHandle.standardError.write(Data("usage: research-store-baseline serve   (env DATABASE_URL, HOST, PORT, DB_POOL_MAX)\n".utf8))
            exit(2)
        }
        let env = ProcessInfo.processInfo.environment
        var logger = Logger(label: "research-store-baseline")
        logger.logLevel = Logger.Level(rawValue: env["LOG_LEVEL"] ?? "") ?? .info

        var configuration = try clientConfiguration(env["DATABASE_URL"] ?? "")
        configuration.options.maximumConnections = Int(env["DB_POOL_MAX"] ?? "") ?? 20
        let db = PostgresClient(configuration: configuration, backgroundLogger: logger)

        let router = Router()
        router.add(middleware: InFlightMiddleware())
        routes(router, db: db)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(env["HOST"] ?? "127.0.0.1", port: Int(env["PORT"] ?? "") ?? 8080)),
            services: [db],
            logger: logger)
        try await app.runService() // SIGTERM / SIGINT: graceful shutdown of the server, then the client
    }
}
