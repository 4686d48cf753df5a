import FoundationEssentials
import Logging
import Postgres
import PostgresPool
import ResearchStore
import ResearchStoreHTTP

/// The service's configuration, read from environment variables (documented in `env.example`).
struct Settings {
    var http = HTTPSettings()
    var databaseURL: String
    /// Where `databaseURL` came from, for the start-up log.
    var databaseURLSource: String
    var pool = PostgresPoolConfiguration()
    var statementTimeout: Duration?
    /// `none` (the default: named prepared statements, cached per connection) or `transaction`
    /// (behind PgBouncer in transaction mode: unnamed statements, no startup options).
    var pooler = "none"
    var logLevel: Logger.Level = .info
    /// `json` (one object per line) or `text`.
    var logFormat = "json"
    /// Between readiness turning false and the server refusing new connections.
    var shutdownDrainDelay: Duration = .seconds(0)
    /// The whole graceful shutdown, after which what is left is cancelled.
    var shutdownTimeout: Duration = .seconds(20)
    /// How often expired cache entries and idempotency records are deleted.
    var expirySweepInterval: Duration = .seconds(60)
    /// `jwt` (the default) or `none` (local development: callers are named by `X-User-ID`).
    var authMode = "jwt"
    /// The key material of jwt mode, read at start-up: exactly one of these.
    var jwtSecret: String?
    var jwtPublicKeyPEM: String?
    var jwtJWKS: String?
    var jwtIssuer: String?
    var jwtAudience: String?
    /// `AUTH_MODE=none` beyond loopback, explicitly allowed.
    var allowsUnauthenticatedNetwork = false
    /// The key every replica signs cursors with (`CURSOR_SECRET`); nil: a per-process key,
    /// allowed only with `AUTH_MODE=none` (local runs).
    var cursorSecret: String?
    /// Exports streamed at once, each on a connection of the export pool (`EXPORT_MAX_CONCURRENT`).
    var exportLimits = ExportLimits()
    /// Where the tokenizer's vocabularies are (`TOKENIZER_VOCABULARY_DIR`); nil: its own search.
    var tokenizerVocabularyDirectory: String?
    /// What a message's `token_count` falls back to (`TOKEN_ENCODING`): an exact count (both
    /// encodings are counted) or v1's estimate (nothing is counted).
    var tokenCounting = TokenCountingMode.default
    /// When research workers' leases end (`RESEARCH_MAX_ATTEMPTS`, `RESEARCH_LEASE_SWEEP_INTERVAL_S`).
    var researchLeases = ResearchLeaseSettings()
    /// Session streams (`STREAM_HEARTBEAT_S`, `MAX_STREAMS`, `STREAM_WRITE_TIMEOUT_S`).
    var streams = StreamSettings()
    /// The database the session streams' listener connects to (`DATABASE_LISTEN_URL`); nil: `DATABASE_URL`.
    var databaseListenURL: String?
    /// Streaming replicas that reads may use (`DATABASE_REPLICA_URLS`), and how (`REPLICA_WAIT_MS`, `REPLICA_MAX_LAG_MS`).
    var databaseReplicaURLs: [String] = []
    var replicas = ReplicaSettings()
    /// Each replica's pool (`DB_REPLICA_POOL_MAX`; the rest as the primary's).
    var replicaPool = PostgresPoolConfiguration()

    /// Every problem found, one line each, so an operator fixes them all in one go.
    struct Invalid: Error, CustomStringConvertible {
        var problems: [String]
        var description: String { "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
    }

    /// `serving: false` (a database tool such as `tokens backfill`) leaves out the checks of what
    /// only the HTTP server uses: its identification and cursor keys.
    static func load(from processEnvironment: [String: String] = ProcessInfo.processInfo.environment, serving: Bool = true)
        throws -> Settings
    {
        // A .env file (ENV_FILE, default ./.env) fills in what the environment does not set.
        let (environment, fileProblems) = DotEnv.merged(
            into: processEnvironment, path: processEnvironment["ENV_FILE"] ?? ".env")
        var reader = EnvironmentReader(environment: environment)
        reader.problems += fileProblems
        let (url, source) = reader.databaseURL()
        var settings = Settings(databaseURL: url ?? "", databaseURLSource: source)
        settings.http.host = reader.string("HOST", default: "127.0.0.1")
        settings.http.port = reader.integer("PORT", default: 8080, in: 1...65535)
        settings.pool.maximumConnections = reader.integer("DB_POOL_MAX", default: 10, in: 1...1000)
        settings.pool.minimumConnections = reader.integer("DB_POOL_MIN", default: 0, in: 0...1000)
        settings.pool.acquireTimeout = .milliseconds(reader.integer("DB_ACQUIRE_TIMEOUT_MS", default: 5000, in: 1...600_000))
        settings.pool.maximumWaiters = reader.integer("DB_POOL_MAX_WAITERS", default: 1000, in: 0...1_000_000)
        settings.pool.maximumLifetime = .seconds(reader.integer("DB_CONN_MAX_LIFETIME_S", default: 1800, in: 1...604_800))
        settings.pool.idleTimeout = .seconds(reader.integer("DB_CONN_IDLE_TIMEOUT_S", default: 300, in: 1...604_800))
        settings.pool.shutdownGracePeriod = .seconds(reader.integer("DB_POOL_SHUTDOWN_GRACE_S", default: 10, in: 0...3600))
        settings.pooler = reader.choice("DB_POOLER", of: ["none", "transaction"], default: "none")
        let behindPooler = settings.pooler == "transaction"
        // Sent as a startup option, which PgBouncer refuses: behind it the role's setting applies.
        let timeout = reader.integer("DB_STATEMENT_TIMEOUT_MS", default: behindPooler ? 0 : 30_000, in: 0...86_400_000)
        settings.statementTimeout = timeout == 0 ? nil : .milliseconds(timeout)
        if behindPooler, timeout != 0 {
            reader.problems.append(
                "DB_STATEMENT_TIMEOUT_MS=\(timeout) is sent as a startup option, which PgBouncer refuses: with DB_POOLER=transaction "
                    + "set it on the role (ALTER ROLE … SET statement_timeout = '30s') and leave DB_STATEMENT_TIMEOUT_MS unset")
        }
        if let old = reader.optional("DB_PREPARED_STATEMENTS") {
            reader.problems.append(
                "DB_PREPARED_STATEMENTS=\(old) is no longer read: statements are prepared unless DB_POOLER=transaction "
                    + "(behind PgBouncer in transaction mode); remove it")
        }
        settings.logLevel = reader.logLevel("LOG_LEVEL", default: .info)
        settings.logFormat = reader.choice("LOG_FORMAT", of: ["json", "text"], default: "json")
        settings.shutdownDrainDelay = .seconds(reader.integer("SHUTDOWN_DRAIN_DELAY_S", default: 0, in: 0...300))
        settings.shutdownTimeout = .seconds(reader.integer("SHUTDOWN_TIMEOUT_S", default: 20, in: 1...3600))
        settings.expirySweepInterval = .seconds(reader.integer("EXPIRY_SWEEP_INTERVAL_S", default: 60, in: 1...86_400))
        settings.authMode = reader.string("AUTH_MODE", default: "jwt")
        settings.jwtSecret = reader.optional("JWT_SECRET")
        settings.jwtPublicKeyPEM = reader.file("JWT_PUBLIC_KEY_FILE")
        settings.jwtJWKS = reader.file("JWT_JWKS_FILE")
        settings.jwtIssuer = reader.optional("JWT_ISSUER")
        settings.jwtAudience = reader.optional("JWT_AUDIENCE")
        let rate = reader.integer("RATE_LIMIT_RPS", default: 50, in: 0...1_000_000)
        let burst = reader.integer("RATE_LIMIT_BURST", default: 100, in: 1...1_000_000)
        settings.http.rateLimit = rate == 0 ? nil : (Double(rate), burst)
        settings.http.maximumConcurrentRequests = reader.integer("MAX_CONCURRENT_REQUESTS", default: 512, in: 1...100_000)
        settings.http.maximumURLBytes = reader.integer("MAX_URL_BYTES", default: 8192, in: 256...1_048_576)
        settings.http.maximumHeaderBytes = reader.integer("MAX_HEADER_BYTES", default: 32_768, in: 1024...1_048_576)
        settings.http.idleTimeout = .seconds(reader.integer("HTTP_IDLE_TIMEOUT_S", default: 30, in: 1...3600))
        settings.http.bodyReadTimeout = .seconds(reader.integer("BODY_READ_TIMEOUT_S", default: 30, in: 1...3600))
        settings.allowsUnauthenticatedNetwork = reader.boolean("UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK", default: false)
        settings.cursorSecret = reader.optional("CURSOR_SECRET")
        settings.tokenizerVocabularyDirectory = reader.optional("TOKENIZER_VOCABULARY_DIR")
        let encoding = reader.choice("TOKEN_ENCODING", of: ["o200k_base", "cl100k_base", "estimate"], default: "o200k_base")
        settings.tokenCounting = TokenCountingMode(setting: encoding) ?? .default
        settings.researchLeases.maxAttempts = reader.integer("RESEARCH_MAX_ATTEMPTS", default: 3, in: 1...100)
        settings.researchLeases.sweepInterval = .seconds(reader.integer("RESEARCH_LEASE_SWEEP_INTERVAL_S", default: 5, in: 1...3600))
        settings.streams.heartbeat = .seconds(reader.integer("STREAM_HEARTBEAT_S", default: 15, in: 1...3600))
        settings.streams.maximumStreams = reader.integer("MAX_STREAMS", default: 1000, in: 0...1_000_000)
        settings.streams.writeTimeout = .seconds(reader.integer("STREAM_WRITE_TIMEOUT_S", default: 30, in: 1...3600))
        settings.databaseListenURL = reader.optional("DATABASE_LISTEN_URL")
        settings.databaseReplicaURLs = Self.urls(in: reader.optional("DATABASE_REPLICA_URLS") ?? "")
        settings.replicas.wait = .milliseconds(reader.integer("REPLICA_WAIT_MS", default: 100, in: 0...60_000))
        settings.replicas.maximumLag = .milliseconds(reader.integer("REPLICA_MAX_LAG_MS", default: 1000, in: 0...3_600_000))
        settings.replicaPool = settings.pool
        settings.replicaPool.minimumConnections = 0
        settings.replicaPool.maximumConnections = reader.integer("DB_REPLICA_POOL_MAX", default: 10, in: 1...1000)
        settings.exportLimits.maximumConcurrent = reader.integer("EXPORT_MAX_CONCURRENT", default: 2, in: 1...100)
        settings.exportLimits.writeTimeout = .seconds(reader.integer("EXPORT_WRITE_TIMEOUT_S", default: 30, in: 1...3600))
        if let secret = settings.cursorSecret, secret.utf8.count < CursorSigner.minimumSecretBytes {
            reader.problems.append("CURSOR_SECRET must be at least \(CursorSigner.minimumSecretBytes) bytes (is \(secret.utf8.count))")
        }
        if serving {
            switch settings.authMode {
            case "none":
                if !Self.isLoopback(settings.http.host), !settings.allowsUnauthenticatedNetwork {
                    reader.problems.append(
                        "HOST=\(settings.http.host) with AUTH_MODE=none would let anyone on the network act as any user: "
                            + "listen on 127.0.0.1, or set UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK=true if something in front authenticates")
                }
            case "jwt":
                // The JWT key is checked by authMode(), which needs to load it.
                if settings.cursorSecret == nil {
                    reader.problems.append(
                        "CURSOR_SECRET is not set: with AUTH_MODE=jwt every replica must sign cursors with the same key "
                            + "(at least 32 random bytes, e.g. openssl rand -base64 48)")
                }
            default:
                reader.problems.append("AUTH_MODE=\(settings.authMode) is not one of none, jwt")
            }
        }
        if settings.pool.minimumConnections > settings.pool.maximumConnections {
            reader.problems.append("DB_POOL_MIN (\(settings.pool.minimumConnections)) is above DB_POOL_MAX (\(settings.pool.maximumConnections))")
        }
        if url == nil {
            reader.problems.append(
                "DATABASE_URL is not set and no local cluster was found at .data/dev/database-url: "
                    + "run scripts/run (it starts one) or set DATABASE_URL")
        }
        if !reader.problems.isEmpty { throw Invalid(problems: reader.problems) }
        return settings
    }

    /// The HTTP layer's identification: for jwt, the verifier built from the configured key.
    func makeAuthMode() async throws(Invalid) -> AuthMode {
        guard authMode == "jwt" else { return .none }
        do {
            return .jwt(
                try await TokenVerifier.make(
                    secret: jwtSecret, publicKeyPEM: jwtPublicKeyPEM, jwksJSON: jwtJWKS, issuer: jwtIssuer, audience: jwtAudience))
        } catch {
            throw Invalid(problems: [error.description])
        }
    }

    /// Signs cursors with `CURSOR_SECRET`, or with a key of this process only (local runs).
    func makeCursorSigner() -> CursorSigner {
        cursorSecret.map { CursorSigner(secret: Array($0.utf8)) } ?? CursorSigner.random()
    }

    /// True for 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The connection settings for the wrapper; throws when libpq cannot parse the URL.
    func connectionConfiguration() throws -> PostgresConfiguration {
        try connectionConfiguration(databaseURL)
    }

    /// The session streams' listener: `DATABASE_LISTEN_URL` (a direct connection, since LISTEN
    /// does not work through a transaction-mode pooler), else the pool's own settings.
    func listenConfiguration() throws -> PostgresConfiguration? {
        try databaseListenURL.map { try connectionConfiguration($0) }
    }

    /// The replicas' connection settings (`DATABASE_REPLICA_URLS`).
    func replicaConfigurations() throws -> [PostgresConfiguration] {
        try databaseReplicaURLs.map { try connectionConfiguration($0) }
    }

    /// The URLs of a comma- or space-separated list. A comma inside a URL (several hosts,
    /// `postgresql://a,b/db`) stays in it: a new URL starts only with a scheme.
    static func urls(in list: String) -> [String] {
        var urls: [String] = []
        for piece in list.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
            if piece.hasPrefix("postgresql://") || piece.hasPrefix("postgres://") || urls.isEmpty {
                urls.append(String(piece))
            } else {
                urls[urls.count - 1] += "," + piece
            }
        }
        return urls
    }

    private func connectionConfiguration(_ databaseURL: String) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(connectionString: databaseURL)
        configuration.statementTimeout = statementTimeout
        configuration.usePreparedStatements = pooler == "none"
        return configuration
    }
}
