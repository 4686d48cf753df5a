import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Postgres
import PostgresPool
import ResearchStore
import ResearchStoreHTTP
import TestSupport
import Testing

/// Runs `body` against the real server — listening on a free loopback port, spoken to over
/// HTTP/1.1 — with the whole application on the real, migrated test database.
/// `pool` adjusts the request pool (8 connections by default); `cursors` signs cursors (a key of
/// this app only by default). With `TEST_VIA_PGBOUNCER=1` and no `databaseURL` the application
/// goes through PgBouncer in transaction mode, configured as `DB_POOLER=transaction` configures it.
/// Session streams listen on `listenURL` (default: the database's own URL).
func withAPI(
    metrics: AppMetrics = AppMetrics(), settings: HTTPSettings = HTTPSettings(port: 0), databaseURL: String? = nil,
    cursors: CursorSigner = .random(), exportLimits: ExportLimits = ExportLimits(),
    tokenCounting: TokenCountingMode = .default, researchLeases: ResearchLeaseSettings = ResearchLeaseSettings(),
    streams: StreamSettings = StreamSettings(), listenURL: String? = nil, shutdown: ShutdownState = ShutdownState(),
    pool adjust: (inout PostgresPoolConfiguration) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    var configuration = PostgresPoolConfiguration()
    configuration.maximumConnections = 8
    configuration.shutdownGracePeriod = .seconds(1)
    adjust(&configuration)
    let throughPgBouncer = databaseURL == nil && TestDatabase.viaPgBouncer
    var connection = try PostgresConfiguration(
        connectionString: try databaseURL ?? (throughPgBouncer ? TestDatabase.pgbouncerURL() : TestDatabase.url()))
    connection.usePreparedStatements = !throughPgBouncer
    connection.observer = { duration, error in metrics.recordQuery(duration, error: error) }
    let pool = PostgresPool(
        configuration: configuration, connection: connection, logger: TestDatabase.logger,
        recordWait: { metrics.recordPoolWait($0) })
    // LISTEN does not work through PgBouncer in transaction mode: the streams' listener connects directly.
    let listen = try (listenURL ?? (throughPgBouncer ? TestDatabase.url() : nil)).map { try PostgresConfiguration(connectionString: $0) }
    let app = buildApplication(
        settings: settings, pool: pool, version: "test", logger: TestDatabase.logger, metrics: metrics, shutdown: shutdown,
        cursors: cursors, exportLimits: exportLimits, tokenCounting: tokenCounting, researchLeases: researchLeases,
        streams: streams, listenConfiguration: listen)
    try await app.test(.live, body)
}

/// A user id no other test uses.
func uniqueUser(_ prefix: String = "user") -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// The parsed JSON of a response body.
func json(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: response.body))")
}

extension TestClientProtocol {
    /// Sends a request as `user` (and admin when asked), with an optional JSON body.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, as user: String, admin: Bool = false, json body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        headers[HTTPField.Name("X-User-ID")!] = user
        if admin { headers[HTTPField.Name("X-User-Roles")!] = "admin" }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

/// Checks a problem+json answer: status, content type, request id, and the named fields.
func expectProblem(
    _ response: TestResponse, _ status: HTTPResponse.Status, fields: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
    let body = try json(response)
    #expect(body["status"] as? Int == Int(status.code), sourceLocation: sourceLocation)
    #expect(body["title"] as? String != nil, sourceLocation: sourceLocation)
    #expect(body["detail"] as? String != nil, sourceLocation: sourceLocation)
    #expect(body["request_id"] as? String == response.headers[HTTPField.Name("X-Request-ID")!], sourceLocation: sourceLocation)
    let named = ((body["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String }
    #expect(named == fields, sourceLocation: sourceLocation)
}

/// Sends one request on a connection of its own and returns its status and body. The test
/// client of `withAPI` has one connection and gets its answers in order (with a 20 s read
/// timeout), so requests that must really run at once, or that block, each need their own.
func callOnOwnConnection(
    port: Int, _ method: HTTPRequest.Method, _ uri: String, as user: String, json body: String? = nil
) async throws -> (status: HTTPResponse.Status, body: ByteBuffer) {
    try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120))) { client in
        var headers: HTTPFields = [HTTPField.Name("X-User-ID")!: user]
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(.init(uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }))
        return (response.status, response.body ?? ByteBuffer())
    }
}

/// The status of `callOnOwnConnection`.
func statusOnOwnConnection(
    port: Int, _ method: HTTPRequest.Method, _ uri: String, as user: String, json body: String? = nil
) async throws -> HTTPResponse.Status {
    try await callOnOwnConnection(port: port, method, uri, as: user, json: body).status
}

/// True once the database's clock is at least `milliseconds` past `timestamp` (ISO 8601, as the
/// API writes it): a test that needs time to pass waits on this instead of sleeping.
func databaseClockPassed(_ timestamp: String, by milliseconds: Int = 1) async throws -> Bool {
    try await TestDatabase.withConnection { connection in
        try await connection.query(
            "SELECT clock_timestamp() >= \(timestamp)::timestamptz + \(milliseconds) * interval '1 millisecond'"
        )[0].decode(0, as: Bool.self)
    }
}

/// Writes straight into the database a user with one session of `messages` messages of
/// `contentBytes` each (a multiple of 32: an md5 hex repeated), fast enough for megabytes.
func seedUser(_ user: String, messages: Int, contentBytes: Int) async throws {
    let session = UUID()
    try await TestDatabase.withConnection { connection in
        try await connection.query("INSERT INTO users (id) VALUES (\(user))")
        try await connection.query("INSERT INTO sessions (id, user_id, title) VALUES (\(session), \(user), 'big')")
        try await connection.query(
            """
            INSERT INTO messages (id, session_id, seq, role, content, token_count)
            SELECT gen_random_uuid(), \(session), i, 'user', repeat(md5(i::text), \(contentBytes / 32)::int), \(contentBytes / 4)
            FROM generate_series(1, \(messages)) i
            """)
    }
}
