import Foundation
import TestSupport
import Testing

// End-to-end tests of `scripts/migrate` against a running PostgreSQL server.
//
// Required environment (a missing value fails every test, it never skips):
// - `TEST_DATABASE_URL`: a superuser URL (sslmode=disable), e.g. from `scripts/local-db url`.
// - `TEST_REPO_ROOT`: the repository root (holds `scripts/migrate`, `schema.sql`, `migrations/`).
//
// Every test creates its own database with a random name and drops it (WITH (FORCE)) at the end.
@Suite("scripts/migrate", .serialized)
struct MigrateScriptTests {
    @Test("the real schema.sql and migrations/ reach the highest file version")
    func realFilesReachLatestVersion() async throws {
        let env = try TestEnvironment.load()
        let latest = try env.latestRepoVersion()
        try await env.withScratchDatabase { db in
            let result = try await env.migrate(databaseURL: db.url)
            #expect(result.status == 0, "migrate failed:\n\(result.output)")
            #expect(try await db.query("SELECT max(version) FROM schema_migrations") == "\(latest)")
            #expect(try await db.query("SELECT count(*) FROM schema_migrations") == "\(latest)")
            #expect(try await db.query("SELECT name FROM schema_migrations WHERE version = 1") == "schema")
            let schemaChecksum = try await env.sha256(of: env.repoRoot.appendingPathComponent("schema.sql"))
            #expect(try await db.query("SELECT checksum FROM schema_migrations WHERE version = 1") == schemaChecksum)
        }
    }

    @Test("003 on a database at version 2: stored messages stay, uncounted, and counts below 0 are refused")
    func messageTokenCountsOnVersion2() async throws {
        let env = try TestEnvironment.load()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-v2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("migrations"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in ["schema.sql", "migrations/002_audit_log_uuid_ids.sql"] {
            try FileManager.default.copyItem(at: env.repoRoot.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        try await env.withScratchDatabase { db in
            let atVersion2 = try await env.migrate(
                databaseURL: db.url, schemaFile: directory.appendingPathComponent("schema.sql"),
                migrationsDirectory: directory.appendingPathComponent("migrations"))
            try #require(atVersion2.status == 0, "migrate to version 2 failed:\n\(atVersion2.output)")
            _ = try await db.query(
                """
                INSERT INTO users (id) VALUES ('u');
                INSERT INTO sessions (id, user_id, title) VALUES ('00000000-0000-7000-8000-000000000001', 'u', 't');
                INSERT INTO messages (id, session_id, seq, role, content, token_count, token_count_estimated)
                VALUES ('00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000001', 1, 'user', 'hello', 2, true)
                """)
            let upgraded = try await env.migrate(databaseURL: db.url)
            #expect(upgraded.status == 0, "migrate to the latest version failed:\n\(upgraded.output)")
            #expect(try await db.query("SELECT max(version) FROM schema_migrations") == "\(try env.latestRepoVersion())")
            #expect(
                try await db.query("SELECT content, token_count, tokens_o200k IS NULL AND tokens_cl100k IS NULL FROM messages")
                    == "hello|2|t")
            let negative = try await env.psql(db.url, "UPDATE messages SET tokens_o200k = -1")
            #expect(negative.status != 0 && negative.output.contains("messages_tokens_o200k_range"), "\(negative.output)")
            _ = try await db.query("UPDATE messages SET tokens_o200k = 1, tokens_cl100k = 1")
        }
    }

    @Test("a second run exits 0, says up to date and changes nothing")
    func secondRunIsNoOp() async throws {
        let env = try TestEnvironment.load()
        let latest = try env.latestRepoVersion()
        try await env.withScratchDatabase { db in
            let first = try await env.migrate(databaseURL: db.url)
            try #require(first.status == 0, "first migrate run failed:\n\(first.output)")
            let before = try await db.bookkeepingSnapshot()

            let second = try await env.migrate(databaseURL: db.url)
            #expect(second.status == 0, "second migrate run failed:\n\(second.output)")
            #expect(second.output.contains("up to date (version \(latest))"), "unexpected output:\n\(second.output)")
            #expect(try await db.bookkeepingSnapshot() == before)
        }
    }

    @Test("an applied file that was edited is refused, naming the file, and nothing changes")
    func editedAppliedFileIsRefused() async throws {
        let env = try TestEnvironment.load()
        try await MigrationFixture.with(migrations: [
            "002_add_gadgets.sql": "CREATE TABLE gadgets (id bigint PRIMARY KEY);\n",
        ]) { fixture in
            try await env.withScratchDatabase { db in
                let first = try await env.migrate(databaseURL: db.url, fixture: fixture)
                try #require(first.status == 0, "initial migrate run failed:\n\(first.output)")
                let before = try await db.bookkeepingSnapshot()

                try fixture.append("-- edited after it was applied\n", to: "migrations/002_add_gadgets.sql")
                try fixture.write("CREATE TABLE late_table (id int);\n", to: "migrations/003_late_table.sql")
                let result = try await env.migrate(databaseURL: db.url, fixture: fixture)

                #expect(result.status != 0, "migrate accepted an edited file:\n\(result.output)")
                #expect(result.output.contains("002_add_gadgets.sql"), "message does not name the file:\n\(result.output)")
                #expect(try await db.bookkeepingSnapshot() == before)
                #expect(try await !db.relationExists("late_table"), "a pending migration ran despite the refusal")
            }
        }
    }

    @Test("a gap in the numbering is refused before anything changes")
    func gapIsRefused() async throws {
        let env = try TestEnvironment.load()
        // 003 without 002: refused on a fresh database, which stays untouched.
        try await MigrationFixture.with(migrations: [
            "003_add_gadgets.sql": "CREATE TABLE gadgets (id bigint PRIMARY KEY);\n",
        ]) { fixture in
            try await env.withScratchDatabase { db in
                let result = try await env.migrate(databaseURL: db.url, fixture: fixture)
                #expect(result.status != 0, "migrate accepted a gap:\n\(result.output)")
                #expect(result.output.contains("gap"), "message does not mention the gap:\n\(result.output)")
                #expect(try await !db.relationExists("schema_migrations"))
                #expect(try await !db.relationExists("widgets"))
            }
        }
        // 001 and 003 in migrations/: 001 collides with schema.sql (version 1) and 002 is missing.
        try await MigrationFixture.with(migrations: [
            "001_first.sql": "CREATE TABLE first_table (id int);\n",
            "003_third.sql": "CREATE TABLE third_table (id int);\n",
        ]) { fixture in
            try await env.withScratchDatabase { db in
                let result = try await env.migrate(databaseURL: db.url, fixture: fixture)
                #expect(result.status != 0, "migrate accepted 001 + 003:\n\(result.output)")
                #expect(try await !db.relationExists("schema_migrations"))
                #expect(try await !db.relationExists("first_table"))
            }
        }
        // A gap appearing after some versions were applied: refused, nothing changes.
        try await MigrationFixture.with(migrations: [
            "002_add_gadgets.sql": "CREATE TABLE gadgets (id bigint PRIMARY KEY);\n",
        ]) { fixture in
            try await env.withScratchDatabase { db in
                let first = try await env.migrate(databaseURL: db.url, fixture: fixture)
                try #require(first.status == 0, "initial migrate run failed:\n\(first.output)")
                let before = try await db.bookkeepingSnapshot()

                try fixture.write("CREATE TABLE fourth_table (id int);\n", to: "migrations/004_fourth.sql")
                let result = try await env.migrate(databaseURL: db.url, fixture: fixture)
                #expect(result.status != 0, "migrate accepted a gap (002, 004):\n\(result.output)")
                #expect(try await db.bookkeepingSnapshot() == before)
                #expect(try await !db.relationExists("fourth_table"))
            }
        }
    }

    @Test("--dry-run lists pending files and applies nothing")
    func dryRunAppliesNothing() async throws {
        let env = try TestEnvironment.load()
        try await MigrationFixture.with(migrations: [
            "002_add_gadgets.sql": "CREATE TABLE gadgets (id bigint PRIMARY KEY);\n",
        ]) { fixture in
            try await env.withScratchDatabase { db in
                let fresh = try await env.migrate(["--dry-run"], databaseURL: db.url, fixture: fixture)
                #expect(fresh.status == 0, "dry run failed:\n\(fresh.output)")
                #expect(fresh.output.contains("schema.sql"), "dry run does not list schema.sql:\n\(fresh.output)")
                #expect(fresh.output.contains("002_add_gadgets.sql"), "dry run does not list 002:\n\(fresh.output)")
                #expect(try await !db.relationExists("schema_migrations"))
                #expect(try await !db.relationExists("widgets"))
                #expect(try await !db.relationExists("gadgets"))

                let applied = try await env.migrate(databaseURL: db.url, fixture: fixture)
                try #require(applied.status == 0, "migrate failed:\n\(applied.output)")
                let before = try await db.bookkeepingSnapshot()

                try fixture.write("ALTER TABLE widgets ADD COLUMN weight integer;\n", to: "migrations/003_widget_weight.sql")
                let pending = try await env.migrate(["--dry-run"], databaseURL: db.url, fixture: fixture)
                #expect(pending.status == 0, "dry run failed:\n\(pending.output)")
                #expect(pending.output.contains("003_widget_weight.sql"), "dry run does not list 003:\n\(pending.output)")
                #expect(try await db.bookkeepingSnapshot() == before)
                #expect(try await db.query(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'widgets' AND column_name = 'weight'"
                ) == "0")
            }
        }
    }

    @Test("a failing migration leaves no trace and exits non-zero")
    func failingMigrationLeavesNoTrace() async throws {
        let env = try TestEnvironment.load()
        try await MigrationFixture.with(migrations: [
            "002_broken.sql": """
            CREATE TABLE partial_thing (id int);
            INSERT INTO partial_thing VALUES (1);
            SELECT * FROM no_such_table;

            """,
        ]) { fixture in
            try await env.withScratchDatabase { db in
                let result = try await env.migrate(databaseURL: db.url, fixture: fixture)
                #expect(result.status != 0, "migrate reported success for bad SQL:\n\(result.output)")
                #expect(result.output.contains("002_broken.sql"), "message does not name the file:\n\(result.output)")
                // schema.sql (version 1) ran in its own, committed transaction; 002 must be absent.
                #expect(try await db.query("SELECT coalesce(max(version), 0) FROM schema_migrations") == "1")
                #expect(try await db.query("SELECT count(*) FROM schema_migrations WHERE version = 2") == "0")
                #expect(try await !db.relationExists("partial_thing"))
            }
        }
    }
}

// MARK: - Helpers

/// The outcome of a finished child process.
private struct CommandResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String

    /// stdout followed by stderr, for messages and `contains` checks.
    var output: String { stdout + stderr }
}

/// Runs a child process to completion. stdout goes through a pipe that is read to its end
/// before waiting; stderr goes to a temporary file, so a full pipe can never block the child.
private enum Command {
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) async throws -> CommandResult {
        try await onOwnThread { try runBlocking(executable, arguments, environment: environment) }
    }

    /// Blocks its thread until the child exits: only for `onOwnThread`.
    private static func runBlocking(_ executable: URL, _ arguments: [String], environment: [String: String]?) throws -> CommandResult {
        let fileManager = FileManager.default
        let stderrURL = fileManager.temporaryDirectory
            .appendingPathComponent("migrate-tests-stderr-\(UUID().uuidString)")
        guard fileManager.createFile(atPath: stderrURL.path, contents: nil) else {
            throw CommandError.cannotCreate(stderrURL.path)
        }
        defer { try? fileManager.removeItem(at: stderrURL) }
        let stderrHandle = try FileHandle(forWritingTo: stderrURL)
        defer { try? stderrHandle.close() }

        let stdoutPipe = Pipe()
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment {
            process.environment = environment
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutPipe
        process.standardError = stderrHandle
        try process.run()
        let stdoutData = try stdoutPipe.fileHandleForReading.readToEnd() ?? Data()
        process.waitUntilExit()
        let stderrData = try Data(contentsOf: stderrURL)
        return CommandResult(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self)
        )
    }

    /// Runs a program found through PATH (via /usr/bin/env).
    static func runInPath(_ program: String, _ arguments: [String]) async throws -> CommandResult {
        try await run(URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments)
    }
}

private enum CommandError: Error, CustomStringConvertible {
    case cannotCreate(String)

    var description: String {
        switch self {
        case .cannotCreate(let path): "cannot create temporary file \(path)"
        }
    }
}

/// The server and checkout under test, from TEST_DATABASE_URL and TEST_REPO_ROOT.
private struct TestEnvironment: Sendable {
    let adminURL: String
    let repoRoot: URL

    static func load() throws -> TestEnvironment {
        let variables = ProcessInfo.processInfo.environment
        let adminURL = variables["TEST_DATABASE_URL"] ?? ""
        try #require(
            !adminURL.isEmpty,
            "TEST_DATABASE_URL is not set: it must be a superuser URL of a running PostgreSQL server (e.g. from `scripts/local-db url`)"
        )
        let root = variables["TEST_REPO_ROOT"] ?? ""
        try #require(!root.isEmpty, "TEST_REPO_ROOT is not set: it must be the repository root (the folder holding scripts/migrate)")
        let repoRoot = URL(fileURLWithPath: root, isDirectory: true)
        let script = repoRoot.appendingPathComponent("scripts/migrate").path
        try #require(FileManager.default.isExecutableFile(atPath: script), "\(script) is missing or not executable")
        return TestEnvironment(adminURL: adminURL, repoRoot: repoRoot)
    }

    /// The highest version among schema.sql (1) and migrations/NNN_name.sql.
    func latestRepoVersion() throws -> Int {
        let schema = repoRoot.appendingPathComponent("schema.sql").path
        try #require(FileManager.default.fileExists(atPath: schema), "\(schema) is missing")
        let migrations = repoRoot.appendingPathComponent("migrations").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: migrations)) ?? []
        let versions = names.compactMap(Self.migrationVersion(fileName:))
        return max(1, versions.max() ?? 1)
    }

    /// NNN of a file named NNN_description.sql (three or more digits), else nil.
    private static func migrationVersion(fileName: String) -> Int? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let digits = fileName.prefix { $0.isASCII && $0.isNumber }
        guard digits.count >= 3, fileName.dropFirst(digits.count).first == "_" else { return nil }
        return Int(digits)
    }

    func sha256(of file: URL) async throws -> String {
        let result = try await Command.runInPath("sha256sum", [file.path])
        try #require(result.status == 0, "sha256sum failed: \(result.output)")
        return String(result.stdout.prefix { $0 != " " })
    }

    /// Runs scripts/migrate against `databaseURL`; with a fixture, on its schema and migrations.
    func migrate(_ arguments: [String] = [], databaseURL: String, fixture: MigrationFixture? = nil) async throws -> CommandResult {
        try await migrate(
            arguments, databaseURL: databaseURL, schemaFile: fixture?.schemaFile, migrationsDirectory: fixture?.migrationsDirectory)
    }

    /// Runs scripts/migrate against `databaseURL`, on the given schema and migrations (else the repository's).
    func migrate(_ arguments: [String] = [], databaseURL: String, schemaFile: URL?, migrationsDirectory: URL?) async throws
        -> CommandResult
    {
        var environment = ProcessInfo.processInfo.environment
        for key in ["DATABASE_URL", "SCHEMA_FILE", "MIGRATIONS_DIR"] {
            environment[key] = nil
        }
        environment["SCHEMA_FILE"] = schemaFile?.path
        environment["MIGRATIONS_DIR"] = migrationsDirectory?.path
        return try await Command.run(
            repoRoot.appendingPathComponent("scripts/migrate"),
            arguments + ["--database-url", databaseURL],
            environment: environment
        )
    }

    func psql(_ url: String, _ sql: String) async throws -> CommandResult {
        try await Command.runInPath("psql", [url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    /// Creates a database with a random name, runs `body` with it and drops it afterwards.
    func withScratchDatabase<T>(_ body: (ScratchDatabase) async throws -> T) async throws -> T {
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let name = "rs_migrate_test_\(suffix)"
        let database = ScratchDatabase(url: try databaseURL(named: name), environment: self)
        let created = try await psql(adminURL, "CREATE DATABASE \(name)")
        try #require(created.status == 0, "CREATE DATABASE \(name) failed:\n\(created.output)")
        let result: Result<T, any Error>
        do { result = .success(try await body(database)) } catch { result = .failure(error) }
        _ = try? await psql(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        return try result.get()
    }

    /// TEST_DATABASE_URL with its path (the database name) replaced.
    private func databaseURL(named name: String) throws -> String {
        var components = try #require(URLComponents(string: adminURL), "TEST_DATABASE_URL is not a valid URL")
        try #require(
            components.scheme == "postgresql" || components.scheme == "postgres",
            "TEST_DATABASE_URL must be a postgresql:// URL"
        )
        components.path = "/\(name)"
        return try #require(components.string, "cannot build a URL for database \(name)")
    }
}

/// One scratch database.
private struct ScratchDatabase: Sendable {
    let url: String
    let environment: TestEnvironment

    /// The unaligned, tuples-only output of one statement, trimmed.
    func query(_ sql: String) async throws -> String {
        let result = try await environment.psql(url, sql)
        try #require(result.status == 0, "query failed: \(sql)\n\(result.output)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func relationExists(_ name: String) async throws -> Bool {
        try await query("SELECT to_regclass('\(name)') IS NOT NULL") == "t"
    }

    /// Every schema_migrations row including applied_at and xmin (a rewrite changes xmin).
    func bookkeepingSnapshot() async throws -> String {
        try await query("SELECT version, name, checksum, applied_at, xmin FROM schema_migrations ORDER BY version")
    }
}

/// A temporary schema.sql (with schema_migrations and a `widgets` table) plus migrations/.
private struct MigrationFixture: Sendable {
    let directory: URL

    var schemaFile: URL { directory.appendingPathComponent("schema.sql") }
    var migrationsDirectory: URL { directory.appendingPathComponent("migrations", isDirectory: true) }

    static let schema = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY CHECK (version > 0),
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE widgets (id bigint PRIMARY KEY, label text NOT NULL);

        """

    /// Creates the fixture with `migrations` (file name → SQL), runs `body`, then deletes it.
    static func with<T>(migrations: [String: String], _ body: (MigrationFixture) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("migrate-tests-\(UUID().uuidString)", isDirectory: true)
        let fixture = MigrationFixture(directory: directory)
        try FileManager.default.createDirectory(at: fixture.migrationsDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try fixture.write(schema, to: "schema.sql")
        for (name, sql) in migrations {
            try fixture.write(sql, to: "migrations/\(name)")
        }
        return try await body(fixture)
    }

    func write(_ contents: String, to relativePath: String) throws {
        try contents.write(to: directory.appendingPathComponent(relativePath), atomically: true, encoding: .utf8)
    }

    func append(_ contents: String, to relativePath: String) throws {
        let file = directory.appendingPathComponent(relativePath)
        let existing = try String(contentsOf: file, encoding: .utf8)
        try (existing + contents).write(to: file, atomically: true, encoding: .utf8)
    }
}
