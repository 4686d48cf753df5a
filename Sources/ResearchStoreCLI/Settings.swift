import Foundation
import Logging
import Postgres
import PostgresPool
import ResearchStoreHTTP

/// The service's configuration, read from environment variables (documented in `env.example`).
struct Settings {
    var http = HTTPSettings()
    var databaseURL: String
    /// Where `databaseURL` came from, for the start-up log.
    var databaseURLSource: String
    var pool = PostgresPoolConfiguration()
    var statementTimeout: Duration?
    var usePreparedStatements = false
    var logLevel: Logger.Level = .info
    /// How often expired cache entries and idempotency records are deleted.
    var expirySweepInterval: Duration = .seconds(60)
    /// `none` is the only mode of this build: callers are named by `X-User-ID`.
    var authMode = "none"
    /// `AUTH_MODE=none` beyond loopback, explicitly allowed.
    var allowsUnauthenticatedNetwork = false

    /// Every problem found, one line each, so an operator fixes them all in one go.
    struct Invalid: Error, CustomStringConvertible {
        var problems: [String]
        var description: String { "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
    }

    static func load(from environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        var reader = EnvironmentReader(environment: environment)
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
        let timeout = reader.integer("DB_STATEMENT_TIMEOUT_MS", default: 30_000, in: 0...86_400_000)
        settings.statementTimeout = timeout == 0 ? nil : .milliseconds(timeout)
        settings.usePreparedStatements = reader.boolean("DB_PREPARED_STATEMENTS", default: false)
        settings.logLevel = reader.logLevel("LOG_LEVEL", default: .info)
        settings.expirySweepInterval = .seconds(reader.integer("EXPIRY_SWEEP_INTERVAL_S", default: 60, in: 1...86_400))
        settings.authMode = reader.string("AUTH_MODE", default: "none")
        settings.allowsUnauthenticatedNetwork = reader.boolean("UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK", default: false)
        switch settings.authMode {
        case "none":
            if !Self.isLoopback(settings.http.host), !settings.allowsUnauthenticatedNetwork {
                reader.problems.append(
                    "HOST=\(settings.http.host) with AUTH_MODE=none would let anyone on the network act as any user: "
                        + "listen on 127.0.0.1, or set UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK=true if something in front authenticates")
            }
        case "jwt":
            reader.problems.append("AUTH_MODE=jwt is not available in this build yet; use AUTH_MODE=none on loopback")
        default:
            reader.problems.append("AUTH_MODE=\(settings.authMode) is not one of none, jwt")
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

    /// True for 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The connection settings for the wrapper; throws when libpq cannot parse the URL.
    func connectionConfiguration() throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(connectionString: databaseURL)
        configuration.statementTimeout = statementTimeout
        configuration.usePreparedStatements = usePreparedStatements
        return configuration
    }
}

/// Reads typed values, collecting a message for each bad one instead of stopping at the first.
struct EnvironmentReader {
    let environment: [String: String]
    var problems: [String] = []

    func string(_ name: String, default value: String) -> String {
        environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? value
    }

    mutating func integer(_ name: String, default value: Int, in range: ClosedRange<Int>) -> Int {
        guard let text = environment[name], !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            problems.append("\(name)=\(text) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            return value
        }
        return number
    }

    mutating func boolean(_ name: String, default value: Bool) -> Bool {
        guard let text = environment[name]?.lowercased(), !text.isEmpty else { return value }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problems.append("\(name)=\(text) is not true or false")
            return value
        }
    }

    mutating func logLevel(_ name: String, default value: Logger.Level) -> Logger.Level {
        guard let text = environment[name], !text.isEmpty else { return value }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            problems.append("\(name)=\(text) is not one of trace, debug, info, notice, warning, error, critical")
            return value
        }
        return level
    }

    /// `DATABASE_URL`, else the URL the local cluster script wrote under `.data/dev/`.
    func databaseURL() -> (String?, String) {
        if let url = environment["DATABASE_URL"], !url.isEmpty { return (url, "DATABASE_URL") }
        let dataDirectory = environment["RESEARCH_STORE_DATA_DIR"] ?? ".data"
        let path = dataDirectory + "/dev/database-url"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !url.isEmpty { return (url, path) }
        }
        return (nil, "unset")
    }
}
