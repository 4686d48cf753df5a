import Foundation
import Logging
import Postgres

/// The test cluster started by `scripts/test`, described by environment variables.
///
/// A missing variable fails the test that needs it (never skips it): tests must run against a
/// real PostgreSQL.
public enum TestDatabase {
    public struct MissingEnvironment: Error, CustomStringConvertible {
        public let name: String
        public init(name: String) { self.name = name }
        public var description: String { "\(name) is not set: run the tests with scripts/test" }
    }

    /// Reads a required variable.
    public static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw MissingEnvironment(name: name)
        }
        return value
    }

    /// A superuser URL without TLS (`sslmode=disable`).
    public static func url() throws -> String { try environment("TEST_DATABASE_URL") }

    /// The same server with `sslmode=verify-full` and the right CA.
    public static func tlsURL() throws -> String { try environment("TEST_DATABASE_TLS_URL") }

    /// PgBouncer in transaction pool mode in front of the same server (`sslmode=disable`).
    public static func pgbouncerURL() throws -> String { try environment("TEST_PGBOUNCER_URL") }

    /// True for `scripts/test`'s second pass of the API suites (`TEST_VIA_PGBOUNCER=1`): the
    /// application then reaches the database through PgBouncer, as with `DB_POOLER=transaction`.
    public static var viaPgBouncer: Bool { ProcessInfo.processInfo.environment["TEST_VIA_PGBOUNCER"] == "1" }

    /// The folder holding `ca.crt` and `wrong-ca.crt`.
    public static func tlsDirectory() throws -> String { try environment("TEST_TLS_DIR") }

    /// The repository's root, for scripts and SQL files.
    public static func repositoryRoot() throws -> String { try environment("TEST_REPO_ROOT") }

    /// One executor shared by the tests' direct connections.
    public static let executor = BlockingExecutor()

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    public static func configuration(_ transform: (inout PostgresConfiguration) -> Void = { _ in }) throws
        -> PostgresConfiguration
    {
        var configuration = try PostgresConfiguration(connectionString: try url())
        transform(&configuration)
        return configuration
    }

    /// Opens a connection to the test database.
    public static func connect(
        logger: Logger = TestDatabase.logger, _ transform: (inout PostgresConfiguration) -> Void = { _ in }
    ) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: try configuration(transform), executor: executor, logger: logger)
    }

    /// Runs `body` with a fresh connection and closes it afterwards.
    public static func withConnection<Result: Sendable>(
        _ transform: (inout PostgresConfiguration) -> Void = { _ in },
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(transform)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Creates a real table `(n int NOT NULL)` with a unique name (visible to other
    /// connections), runs `body` with its name, and drops it, whether `body` throws or not.
    public static func withIntegerTable(_ prefix: String, _ body: (String) async throws -> Void) async throws {
        let table = uniqueName(prefix)
        _ = try await withConnection { try await $0.query("CREATE TABLE \(identifier: table) (n int NOT NULL)") }
        do {
            try await body(table)
        } catch {
            _ = try? await withConnection { try await $0.query("DROP TABLE \(identifier: table)") }
            throw error
        }
        _ = try await withConnection { try await $0.query("DROP TABLE \(identifier: table)") }
    }

    /// A table name no other test uses.
    public static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.prefix(8).lowercased()
    }
}
