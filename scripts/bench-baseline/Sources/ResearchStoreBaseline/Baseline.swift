// research-store-baseline: the "obvious Swift alternative" that `scripts/bench --baseline` measures
// research-store against. Hummingbird 2 + PostgresNIO (one PostgresClient), the same SQL as
// research-store for the five benchmarked routes (Statements.swift), run as unnamed statements
// through the `query` API or, with BASELINE_PREPARED=true, as prepared statements through
// `execute`. A measuring stick only, never deployed, never built by CI.
//
// It deliberately skips what research-store does around that SQL, so the comparison favours it:
// no authentication (the caller is the X-User-ID header, 401 without it), no validation beyond
// Codable decoding, no idempotency keys, no rate limit, no metrics, no request log, no body limits
// other than Hummingbird's default, no ownership check of analytics session ids.
//
//   DATABASE_URL=postgresql://… HOST=127.0.0.1 PORT=8080 DB_POOL_MAX=32 [BASELINE_PREPARED=true] \
//       research-store-baseline serve
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

func routes(_ router: Router<BasicRequestContext>, db: Database) {
    router.get("/livez") { _, _ in HTTPResponse.Status.ok }
    router.get("/readyz") { _, context in
        try await db.client.query("SELECT 1", logger: context.logger)
        return HTTPResponse.Status.ok
    }
    router.get("/db/health") { _, _ in Health(in_use: inFlight.load(ordering: .relaxed) - 1, waiting: 0) }

    router.post("/db/messages/store") { request, context -> EditedResponse<Message> in
        let caller = try request.caller()
        let body = try await request.decode(as: StoreMessage.self, context: context)
        let statement = StoreStatement(
            tokens: body.token_count ?? (body.content.utf8.count + 3) / 4, session: body.session_id, user: caller,
            id: uuidV7(), role: body.role, content: body.content, estimated: body.token_count == nil,
            model: body.model ?? "", metadata: body.metadata ?? .object([:]))
        guard let message = try await db.rows(statement, logger: context.logger).first else {
            throw HTTPError(.notFound, message: "session not found")
        }
        return EditedResponse(status: .created, response: message)
    }

    // The four statements of research-store's ContextService.load in one REPEATABLE READ READ ONLY
    // transaction (research-store pipelines them; here one after the other, as PostgresNIO's API reads).
    router.get("/db/context/{id}") { request, context -> Context in
        let caller = try request.caller()
        let id = try context.parameters.require("id", as: UUID.self)
        let maxTokens = request.uri.queryParameters.get("max_tokens", as: Int.self) ?? 4000
        let maxMessages = request.uri.queryParameters.get("max_messages", as: Int.self) ?? 50
        let logger = context.logger
        let found = try await db.client.withTransaction(logger: logger) { connection -> Context? in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            guard let session = try await db.rows(ContextSessionStatement(session: id, user: caller), on: connection, logger: logger).first
            else { return nil }
            var messages = try await db.rows(
                ContextMessagesStatement(session: id, maxMessages: maxMessages, maxTokens: maxTokens), on: connection, logger: logger)
            let system = try await db.rows(ContextSystemStatement(session: id), on: connection, logger: logger).first
            let research = try await db.rows(ContextResearchStatement(session: id), on: connection, logger: logger)
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

    router.post("/db/sessions/create") { request, context -> EditedResponse<Session> in
        let caller = try request.caller()
        let body = try await request.decode(as: CreateSession.self, context: context)
        let statement = CreateStatement(user: caller, id: uuidV7(), title: body.title, metadata: body.metadata ?? .object([:]))
        guard let session = try await db.rows(statement, logger: context.logger).first else { throw HTTPError(.internalServerError) }
        return EditedResponse(status: .created, response: session)
    }

    router.post("/db/analytics/batch") { request, context -> EditedResponse<Accepted> in
        let caller = try request.caller()
        let events = try await request.decode(as: AnalyticsBatch.self, context: context).events
        _ = try await db.rows(AnalyticsStatement(user: caller, events: events), logger: context.logger)
        return EditedResponse(status: .accepted, response: Accepted(accepted: events.count))
    }
}

// MARK: - Main

@main
struct Baseline {
    static func main() async throws {
        guard CommandLine.arguments.dropFirst().first == "serve" else {
            FileHandle.standardError.write(Data("usage: research-store-baseline serve   (env DATABASE_URL, HOST, PORT, DB_POOL_MAX, BASELINE_PREPARED)\n".utf8))
            exit(2)
        }
        let env = ProcessInfo.processInfo.environment
        var logger = Logger(label: "research-store-baseline")
        logger.logLevel = Logger.Level(rawValue: env["LOG_LEVEL"] ?? "") ?? .info

        var configuration = try clientConfiguration(env["DATABASE_URL"] ?? "")
        configuration.options.maximumConnections = Int(env["DB_POOL_MAX"] ?? "") ?? 20
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let prepared = env["BASELINE_PREPARED"] == "true"
        logger.info("statements: \(prepared ? "prepared (client.execute)" : "unnamed (client.query)")")

        let router = Router()
        router.add(middleware: InFlightMiddleware())
        routes(router, db: Database(client: client, prepared: prepared))
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(env["HOST"] ?? "127.0.0.1", port: Int(env["PORT"] ?? "") ?? 8080)),
            services: [client],
            logger: logger)
        try await app.runService() // SIGTERM / SIGINT: graceful shutdown of the server, then the client
    }
}
