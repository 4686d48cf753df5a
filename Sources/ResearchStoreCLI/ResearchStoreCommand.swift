import ArgumentParser
import FoundationEssentials
import Glibc
import Hummingbird
import Logging
import NIOCore
import Postgres
import PostgresPool
import ResearchStore
import ResearchStoreHTTP
import ServiceLifecycle
import Tokenizer

/// The `research-store` executable.
@main
struct ResearchStoreCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "research-store",
        abstract: "ResearchStore: the database service of an LLM research assistant.",
        version: version,
        subcommands: [Serve.self, Migrate.self, Check.self, TokensCommand.self, ImportCommand.self],
        defaultSubcommand: Serve.self)
}

extension ResearchStoreCommand {
    /// Starts the HTTP server.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the HTTP server (configuration from the environment).")

        func run() async throws {
            MallocArenas.limit()
            let settings = try loadSettings()
            // The tokenizer reads the variable itself when it first loads a vocabulary; set here,
            // before any task runs, so a value from ENV_FILE counts as one from the environment.
            if let directory = settings.tokenizerVocabularyDirectory { setenv("TOKENIZER_VOCABULARY_DIR", directory, 1) }
            try requireVocabularies(settings)
            LoggingSystem.bootstrap { label in
                guard settings.logFormat == "text" else { return JSONLogHandler(label: label, level: settings.logLevel) }
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = settings.logLevel
                return handler
            }
            let logger = Logger(label: "research-store")
            let connection = try connectionConfiguration(settings)
            logger.info(
                "starting",
                metadata: [
                    "version": "\(ResearchStoreCommand.version)", "db.target": "\(connection)",
                    "db.url_source": "\(settings.databaseURLSource)",
                ])
            var http = settings.http
            http.auth = try await authMode(settings)
            if case .none = http.auth {
                logger.warning(
                    "AUTH_MODE=none: callers are trusted by X-User-ID and X-User-Roles; for local development only",
                    metadata: ["http.host": "\(settings.http.host)"])
            }
            if !connection.usesTLS && !connection.isLocal {
                logger.warning(
                    "connecting to a non-local database without TLS: set sslmode=verify-full and sslrootcert in DATABASE_URL",
                    metadata: ["db.target": "\(connection)"])
            }
            let metrics = AppMetrics()
            var observed = connection
            observed.observer = { duration, error in metrics.recordQuery(duration, error: error) }
            let pool = PostgresPool(
                configuration: settings.pool, connection: observed, logger: logger,
                recordWait: { metrics.recordPoolWait($0) })
            try await refuseIfSchemaIsBehind(pool: pool, logger: logger)
            let replicaConnections = try replicaConfigurations(settings)
            let replicas =
                replicaConnections.isEmpty
                ? nil : ReadReplicas(connections: replicaConnections, pool: settings.replicaPool, logger: logger)
            let shutdown = ShutdownState()
            let app = buildApplication(
                settings: http, pool: pool, version: ResearchStoreCommand.version, logger: logger, metrics: metrics,
                sweepInterval: settings.expirySweepInterval, shutdown: shutdown, cursors: settings.makeCursorSigner(),
                exportLimits: settings.exportLimits, tokenCounting: settings.tokenCounting, researchLeases: settings.researchLeases,
                streams: settings.streams, listenConfiguration: try listenConfiguration(settings), replicas: replicas,
                replicaSettings: settings.replicas)
            // On SIGTERM: readiness turns false at once, then after the drain delay the server stops
            // accepting, lets requests in flight finish, and closes the pool. Past the deadline,
            // what is left is cancelled.
            var group = ServiceGroupConfiguration(
                services: [
                    .init(service: app),
                    .init(
                        service: ReadinessGate(shutdown: shutdown, drainDelay: settings.shutdownDrainDelay),
                        successTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = settings.shutdownTimeout
            group.maximumCancellationDuration = .seconds(2)
            do {
                try await ServiceGroup(configuration: group).run()
            } catch let error as IOError where Self.listenErrors.keys.contains(error.errnoCode) {
                // One line naming the address and the variables that set it, not NIO's bind(…) text.
                let host = settings.http.host.contains(":") ? "[\(settings.http.host)]" : settings.http.host
                printToStandardError(
                    "cannot listen on \(host):\(settings.http.port): \(Self.listenErrors[error.errnoCode]!); "
                        + "choose another with PORT (and HOST)")
                throw ExitCode(78)
            }
            logger.info("stopped")
        }

        /// Why the listening socket could not be bound, for the errors a setting can cause.
        static let listenErrors: [CInt: String] = [
            EADDRINUSE: "the address is already in use",
            EADDRNOTAVAIL: "the address is not one of this machine's",
            EACCES: "permission denied (ports below 1024 need privileges)",
        ]

        /// A reachable database whose schema is older than this build stops start-up. An unreachable
        /// one does not: the server starts, answers `503`, and recovers when the database returns.
        private func refuseIfSchemaIsBehind(pool: PostgresPool, logger: Logger) async throws {
            do {
                let applied = try await SchemaVersionReader.appliedVersion(pool: pool)
                guard applied >= SchemaVersion.expected else {
                    throw ValidationError(
                        "the database schema is at version \(applied) but this build needs \(SchemaVersion.expected): run scripts/migrate")
                }
            } catch let error as PostgresError where error.isConnectionError {
                logger.warning("database unreachable at start-up; serving 503 until it answers", metadata: ["db.error": "\(error)"])
            } catch let error as PostgresPoolError {
                logger.warning("database unreachable at start-up; serving 503 until it answers", metadata: ["db.error": "\(error)"])
            }
        }
    }

    /// Runs `scripts/migrate` (psql) with the same arguments.
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply schema.sql and migrations/*.sql with psql (runs scripts/migrate).")

        @Flag(help: "Show what would be applied and change nothing.") var dryRun = false
        @Flag(help: "Show applied and pending versions.") var status = false

        func run() throws {
            let home = ProcessInfo.processInfo.environment["RESEARCH_STORE_HOME"] ?? FileManager.default.currentDirectoryPath
            let script = home + "/scripts/migrate"
            guard FileManager.default.isExecutableFile(atPath: script) else {
                throw ValidationError("\(script) not found: run from the project folder or set RESEARCH_STORE_HOME")
            }
            // The script replaces this process: its output and exit status are the command's.
            let arguments = [script] + (dryRun ? ["--dry-run"] : []) + (status ? ["--status"] : [])
            let cArguments = arguments.map { strdup($0) } + [nil]
            execv(script, cArguments)
            throw ValidationError("cannot run \(script): \(String(cString: strerror(errno)))")
        }
    }

    /// Prints the effective configuration (secrets masked) and checks the database.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration with secrets masked and check the database.")

        func run() async throws {
            let settings = try loadSettings()
            let connection = try connectionConfiguration(settings)
            print("HOST=\(settings.http.host)")
            print("PORT=\(settings.http.port)")
            print("DATABASE_URL=\(connection) (from \(settings.databaseURLSource))")
            print("DB_POOL_MAX=\(settings.pool.maximumConnections) DB_POOL_MIN=\(settings.pool.minimumConnections)")
            print("DB_POOLER=\(settings.pooler) (\(connection.usePreparedStatements ? "named prepared statements" : "unnamed statements"))")
            print("LOG_LEVEL=\(settings.logLevel) LOG_FORMAT=\(settings.logFormat)")
            print(
                "SHUTDOWN_DRAIN_DELAY_S=\(settings.shutdownDrainDelay.components.seconds) "
                    + "SHUTDOWN_TIMEOUT_S=\(settings.shutdownTimeout.components.seconds)")
            print("EXPIRY_SWEEP_INTERVAL_S=\(settings.expirySweepInterval.components.seconds)")
            print("TOKEN_ENCODING=\(settings.tokenCounting.setting)")
            print(
                "STREAM_HEARTBEAT_S=\(settings.streams.heartbeat.components.seconds) MAX_STREAMS=\(settings.streams.maximumStreams) "
                    + "STREAM_WRITE_TIMEOUT_S=\(settings.streams.writeTimeout.components.seconds) "
                    + "DATABASE_LISTEN_URL=\(try listenConfiguration(settings).map { "\($0)" } ?? "(not set: DATABASE_URL)")")
            print(
                "DATABASE_REPLICA_URLS=\(try replicaConfigurations(settings).map { "\($0)" }.joined(separator: " | ")) "
                    + "DB_REPLICA_POOL_MAX=\(settings.replicaPool.maximumConnections) "
                    + "REPLICA_WAIT_MS=\(settings.replicas.wait.components.seconds * 1000 + settings.replicas.wait.components.attoseconds / 1_000_000_000_000_000) "
                    + "REPLICA_MAX_LAG_MS=\(settings.replicas.maximumLag.components.seconds * 1000 + settings.replicas.maximumLag.components.attoseconds / 1_000_000_000_000_000)")
            print(
                "RESEARCH_MAX_ATTEMPTS=\(settings.researchLeases.maxAttempts) "
                    + "RESEARCH_LEASE_SWEEP_INTERVAL_S=\(settings.researchLeases.sweepInterval.components.seconds)")
            print("TOKENIZER_VOCABULARY_DIR=\(settings.tokenizerVocabularyDirectory ?? "(not set: next to the executable, then the source tree)")")
            print("CURSOR_SECRET=\(settings.cursorSecret == nil ? "(not set: a key of this process only)" : "****")")
            print(
                "EXPORT_MAX_CONCURRENT=\(settings.exportLimits.maximumConcurrent) "
                    + "EXPORT_WRITE_TIMEOUT_S=\(settings.exportLimits.writeTimeout.components.seconds)")
            _ = try await authMode(settings)
            print("AUTH_MODE=\(settings.authMode)\(settings.allowsUnauthenticatedNetwork ? " (UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK=true)" : "")")
            if settings.authMode == "jwt" {
                let key = settings.jwtSecret != nil ? "JWT_SECRET=****" : settings.jwtPublicKeyPEM != nil ? "JWT_PUBLIC_KEY_FILE" : "JWT_JWKS_FILE"
                print("  key: \(key) JWT_ISSUER=\(settings.jwtIssuer ?? "(not checked)") JWT_AUDIENCE=\(settings.jwtAudience ?? "(not checked)")")
            }
            print(
                "RATE_LIMIT=\(settings.http.rateLimit.map { "\(Int($0.rate))/s burst \($0.burst)" } ?? "off") "
                    + "MAX_CONCURRENT_REQUESTS=\(settings.http.maximumConcurrentRequests)")
            print("TLS to the database: \(connection.usesTLS ? "yes" : "no")\(connection.isLocal ? " (local)" : "")")
            let logger = Logger(label: "research-store.check")
            let pool = PostgresPool(configuration: settings.pool, connection: connection, logger: logger)
            let healthy: Bool
            do {
                let applied = try await SchemaVersionReader.appliedVersion(pool: pool)
                print("database: reachable, schema version \(applied) (this build needs \(SchemaVersion.expected))")
                healthy = applied >= SchemaVersion.expected
            } catch {
                print("database: unreachable (\(error))")
                healthy = false
            }
            await pool.shutdown()
            if !healthy { throw ExitCode(1) }
        }
    }
}

/// One line on standard error.
func printToStandardError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Settings, or a clear list of what is wrong and exit code 78 (configuration error); see
/// `Settings.load` for `serving`.
func loadSettings(serving: Bool = true) throws -> Settings {
    do {
        return try Settings.load(serving: serving)
    } catch let invalid as Settings.Invalid {
        printToStandardError(invalid.description)
        throw ExitCode(78)
    }
}

/// The configured identification, or the key problem and exit code 78.
func authMode(_ settings: Settings) async throws -> AuthMode {
    do {
        return try await settings.makeAuthMode()
    } catch {
        printToStandardError(error.description)
        throw ExitCode(78)
    }
}

/// Every stored message is counted unless `TOKEN_ENCODING=estimate`: without the vocabularies
/// each store would fail, so the server does not start (exit code 78). They load on first use.
func requireVocabularies(_ settings: Settings) throws {
    guard case .exact = settings.tokenCounting else { return }
    for encoding in TokenEncoding.allCases {
        do {
            _ = try BPETokenizer.vocabularyPath(encoding)
        } catch {
            printToStandardError(
                "TOKEN_ENCODING=\(settings.tokenCounting.setting) counts every message, but \(error); "
                    + "set TOKENIZER_VOCABULARY_DIR to the folder of the .tiktoken files, or TOKEN_ENCODING=estimate")
            throw ExitCode(78)
        }
    }
}

/// The parsed DATABASE_REPLICA_URLS, or libpq's reason (never a URL) and exit code 78.
func replicaConfigurations(_ settings: Settings) throws -> [PostgresConfiguration] {
    do {
        return try settings.replicaConfigurations()
    } catch let error as PostgresError {
        printToStandardError("invalid DATABASE_REPLICA_URLS: \(error.message ?? "\(error)")")
        throw ExitCode(78)
    }
}

/// The parsed DATABASE_LISTEN_URL (nil when unset), or libpq's reason and exit code 78.
func listenConfiguration(_ settings: Settings) throws -> PostgresConfiguration? {
    do {
        return try settings.listenConfiguration()
    } catch let error as PostgresError {
        printToStandardError("invalid DATABASE_LISTEN_URL: \(error.message ?? "\(error)")")
        throw ExitCode(78)
    }
}

/// The parsed DATABASE_URL, or libpq's reason (never the URL itself) and exit code 78.
func connectionConfiguration(_ settings: Settings) throws -> PostgresConfiguration {
    do {
        return try settings.connectionConfiguration()
    } catch let error as PostgresError {
        printToStandardError("invalid DATABASE_URL: \(error.message ?? "\(error)")")
        throw ExitCode(78)
    }
}
