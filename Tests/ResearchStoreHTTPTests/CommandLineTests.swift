import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `research-store` executable, run as an operator would.
@Suite("research-store command line")
struct CommandLineTests {
    /// Runs the debug `research-store` with `arguments`, no .env file and a minimal PATH.
    func run(_ arguments: [String], environment: [String: String]) async throws -> ProgramOutput {
        try await runToEnd(
            try TestDatabase.repositoryRoot() + "/.build/debug/research-store", arguments,
            environment: environment.merging(["PATH": "/usr/bin:/bin", "ENV_FILE": "/dev/null"]) { current, _ in current })
    }

    @Test("bad settings are all reported at once, with exit code 78, without the password")
    func invalidSettings() async throws {
        let output = try await run(
            ["check"],
            environment: [
                "DATABASE_URL": "postgresql://u:Very-Secret-1@127.0.0.1:1/db", "PORT": "http",
                "DB_POOL_MAX": "0", "LOG_LEVEL": "loud", "DB_POOLER": "session", "DB_PREPARED_STATEMENTS": "false",
                "TOKEN_ENCODING": "p50k_base",
            ])
        #expect(output.status == 78)
        for name in [
            "PORT=http", "DB_POOL_MAX=0", "LOG_LEVEL=loud", "DB_POOLER=session is not one of none, transaction", "DB_PREPARED_STATEMENTS=false",
            "TOKEN_ENCODING=p50k_base is not one of o200k_base, cl100k_base, estimate",
        ] {
            #expect(output.text.contains(name), "missing \(name) in: \(output.text)")
        }
        #expect(!output.text.contains("Very-Secret-1"))
    }

    @Test("check prints the effective configuration with the password masked and reaches the database")
    func check() async throws {
        let url = try TestDatabase.url()
        let password = try #require(URLComponents(string: url)?.password)
        let output = try await run(["check"], environment: ["DATABASE_URL": url, "DB_POOL_MAX": "3", "AUTH_MODE": "none"])
        #expect(output.status == 0, "\(output.text)")
        #expect(output.text.contains("DB_POOL_MAX=3"))
        #expect(output.text.contains("DB_POOLER=none (named prepared statements)"))
        #expect(output.text.contains("TOKEN_ENCODING=o200k_base"))
        #expect(output.text.contains("database: reachable"))
        #expect(!output.text.contains(password))
    }

    @Test("DATABASE_REPLICA_URLS: a list split on commas and spaces, a multi-host URL kept whole, passwords masked; a bad one is exit 78")
    func replicaURLs() async throws {
        let url = try TestDatabase.url()
        let replicas = "postgresql://r:secret-one@127.0.0.1:5433/db, postgresql://r:secret-two@127.0.0.2:5434,127.0.0.3:5435/db"
        let output = try await run(
            ["check"], environment: ["DATABASE_URL": url, "AUTH_MODE": "none", "DATABASE_REPLICA_URLS": replicas, "REPLICA_WAIT_MS": "250"])
        #expect(output.status == 0, "\(output.text)")
        let line = try #require(output.text.split(separator: "\n").first { $0.hasPrefix("DATABASE_REPLICA_URLS=") })
        #expect(line.components(separatedBy: " | ").count == 2, "\(line)")
        #expect(line.contains("127.0.0.1") && line.contains("127.0.0.2,127.0.0.3"), "\(line)")
        #expect(line.contains("REPLICA_WAIT_MS=250") && line.contains("REPLICA_MAX_LAG_MS=1000"), "\(line)")
        #expect(!output.text.contains("secret-one") && !output.text.contains("secret-two"))
        let refused = try await run(
            ["check"], environment: ["DATABASE_URL": url, "AUTH_MODE": "none", "DATABASE_REPLICA_URLS": "postgresql://r@127.0.0.1/db?bogus=1"])
        #expect(refused.status == 78)
        #expect(refused.text.contains("invalid DATABASE_REPLICA_URLS"), "\(refused.text)")
    }

    @Test("DB_POOLER=transaction sends no startup option: an explicit statement timeout is refused, none is the default")
    func transactionPooler() async throws {
        let url = try TestDatabase.url()
        let refused = try await run(
            ["check"], environment: ["DATABASE_URL": url, "AUTH_MODE": "none", "DB_POOLER": "transaction", "DB_STATEMENT_TIMEOUT_MS": "5000"])
        #expect(refused.status == 78)
        #expect(refused.text.contains("DB_STATEMENT_TIMEOUT_MS=5000") && refused.text.contains("ALTER ROLE"), "\(refused.text)")
        // Through PgBouncer, which refuses any startup option: the default statement timeout is none.
        let accepted = try await run(
            ["check"], environment: ["DATABASE_URL": try TestDatabase.pgbouncerURL(), "AUTH_MODE": "none", "DB_POOLER": "transaction"])
        #expect(accepted.status == 0, "\(accepted.text)")
        #expect(accepted.text.contains("DB_POOLER=transaction (unnamed statements)") && accepted.text.contains("database: reachable"))
    }

    @Test("a connection string libpq cannot parse is refused before anything starts")
    func unparsableURL() async throws {
        let output = try await run(["check"], environment: ["DATABASE_URL": "host=x sslmod=require password=Hidden-Pw", "AUTH_MODE": "none"])
        #expect(output.status == 78)
        #expect(output.text.contains("sslmod"))
        #expect(!output.text.contains("Hidden-Pw"))
    }

    @Test("AUTH_MODE=none refuses a non-loopback HOST unless explicitly allowed")
    func authModeGuard() async throws {
        let url = try TestDatabase.url()
        let exposed = try await run(["check"], environment: ["DATABASE_URL": url, "HOST": "0.0.0.0", "AUTH_MODE": "none"])
        #expect(exposed.status == 78)
        #expect(exposed.text.contains("HOST=0.0.0.0") && exposed.text.contains("UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK"))
        let allowed = try await run(
            ["check"],
            environment: ["DATABASE_URL": url, "HOST": "0.0.0.0", "AUTH_MODE": "none", "UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK": "true"])
        #expect(allowed.status == 0, "\(allowed.text)")
        #expect(allowed.text.contains("AUTH_MODE=none"))
    }

    @Test("jwt is the default and start-up fails clearly without a key, with a short secret or a weak public key")
    func jwtKeys() async throws {
        let url = try TestDatabase.url()
        let cursorKey = String(repeating: "k", count: 32)
        let missing = try await run(["check"], environment: ["DATABASE_URL": url, "CURSOR_SECRET": cursorKey])
        #expect(missing.status == 78)
        #expect(missing.text.contains("JWT_SECRET") && missing.text.contains("JWT_PUBLIC_KEY_FILE"), "\(missing.text)")
        let short = try await run(["check"], environment: ["DATABASE_URL": url, "CURSOR_SECRET": cursorKey, "JWT_SECRET": "short-Secret-123"])
        #expect(short.status == 78)
        #expect(short.text.contains("at least 32") && !short.text.contains("short-Secret-123"), "\(short.text)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await runOpenSSL(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", directory + "/weak.pem"])
        try await runOpenSSL(["pkey", "-in", directory + "/weak.pem", "-pubout", "-out", directory + "/weak.pub"])
        let weak = try await run(["check"], environment: ["DATABASE_URL": url, "CURSOR_SECRET": cursorKey, "JWT_PUBLIC_KEY_FILE": directory + "/weak.pub"])
        #expect(weak.status == 78)
        #expect(weak.text.contains("2048"), "\(weak.text)")
        let unreadable = try await run(["check"], environment: ["DATABASE_URL": url, "CURSOR_SECRET": cursorKey, "JWT_PUBLIC_KEY_FILE": directory + "/none.pub"])
        #expect(unreadable.status == 78 && unreadable.text.contains("cannot be read"))
        let secret = String(repeating: "s", count: 40)
        let noCursorKey = try await run(["check"], environment: ["DATABASE_URL": url, "JWT_SECRET": secret])
        #expect(noCursorKey.status == 78 && noCursorKey.text.contains("CURSOR_SECRET"), "\(noCursorKey.text)")
        let shortCursorKey = try await run(
            ["check"], environment: ["DATABASE_URL": url, "JWT_SECRET": secret, "CURSOR_SECRET": "too-short"])
        #expect(shortCursorKey.status == 78 && shortCursorKey.text.contains("at least 32"), "\(shortCursorKey.text)")
        let cursorSecret = String(repeating: "c", count: 32)
        let good = try await run(
            ["check"], environment: ["DATABASE_URL": url, "JWT_SECRET": secret, "CURSOR_SECRET": cursorSecret, "HOST": "0.0.0.0"])
        #expect(good.status == 0, "\(good.text)")
        #expect(good.text.contains("CURSOR_SECRET=****") && !good.text.contains(cursorSecret), "\(good.text)")
        #expect(good.text.contains("AUTH_MODE=jwt") && good.text.contains("JWT_SECRET=****") && !good.text.contains(secret))
    }

    @Test("a .env file fills in what the environment does not set; a malformed line is reported")
    func dotEnv() async throws {
        let url = try TestDatabase.url()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("env-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# local settings\nexport LOG_FORMAT=text\nDB_POOL_MAX='4'\n\nAUTH_MODE=\"none\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let output = try await run(["check"], environment: ["DATABASE_URL": url, "ENV_FILE": path, "DB_POOL_MAX": "3"])
        #expect(output.status == 0, "\(output.text)")
        #expect(output.text.contains("LOG_FORMAT=text") && output.text.contains("DB_POOL_MAX=3") && output.text.contains("AUTH_MODE=none"))
        try "AUTH_MODE=none\nthis is not a setting\n".write(toFile: path, atomically: true, encoding: .utf8)
        let bad = try await run(["check"], environment: ["DATABASE_URL": url, "ENV_FILE": path])
        #expect(bad.status == 78)
        #expect(bad.text.contains("\(path):2"), "\(bad.text)")
    }

    @Test("a busy port stops serve with one line naming the address and PORT/HOST, and exit code 78")
    func busyPort() async throws {
        let (descriptor, port) = try listeningSocket()
        defer { close(descriptor) }
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("busy-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let server = try launchServer(
            port: port, environment: ["DATABASE_URL": try TestDatabase.url(), "LOG_LEVEL": "error"],
            standardError: try FileHandle(forWritingTo: URL(fileURLWithPath: logPath)))
        let exited = try await waitUntil { !server.isRunning }
        if !exited { server.terminate() }
        server.waitUntilExit()
        let text = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(exited, "still serving on a busy port: \(text)")
        #expect(server.terminationStatus == 78, "\(text)")
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1, "\(text)")
        #expect(text.contains("127.0.0.1:\(port)") && text.contains("already in use") && text.contains("PORT") && text.contains("HOST"), "\(text)")
        #expect(!text.contains("errno"), "\(text)")
    }

    /// The warning needs a host that is not loopback, yet no traffic may leave the machine. libpq
    /// tries the hosts of a list in order and resolves each only when it gets to it: the test
    /// database on 127.0.0.1 comes first and answers, so `db.invalid` (a reserved name that never
    /// resolves) is never looked up or connected to. `/readyz` turning 200 shows the first host
    /// served. (`hostaddr=127.0.0.1` with `host=db.example` would not do: `isLocal` rightly
    /// judges by `hostaddr`, where the packets go, and gives no warning.)
    @Test("serve warns once at start-up when it reaches a non-local database without TLS")
    func plainTextWarning() async throws {
        let database = try #require(URLComponents(string: try TestDatabase.url()))
        let databasePort = try #require(database.port)
        let user = database.percentEncodedUser ?? "postgres"
        let password = database.percentEncodedPassword.map { ":\($0)" } ?? ""
        let url = "postgresql://\(user)\(password)@127.0.0.1:\(databasePort),db.invalid:\(databasePort)\(database.path)"
            + "?sslmode=disable&connect_timeout=5"
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("warning-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let port = try freePort()
        let process = try launchServer(
            port: port, environment: ["LOG_LEVEL": "warning", "DATABASE_URL": url],
            standardError: try FileHandle(forWritingTo: URL(fileURLWithPath: logPath)))
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        let ready = try await waitUntil { await ShutdownTests.get(port: port, "/readyz")?.status == 200 }
        let text = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(ready, "the server did not become ready on the first (loopback) host: \(text)")
        let warnings = text.split(separator: "\n").filter { $0.contains("without TLS") }
        #expect(warnings.count == 1, "\(text)")
        #expect(warnings.first?.contains("sslmode=verify-full") == true)
    }

    @Test("migrate runs scripts/migrate in its place: its output and exit status are the command's")
    func migrateRunsTheScript() async throws {
        let root = try TestDatabase.repositoryRoot()
        let status = try await run(["migrate", "--status"], environment: ["DATABASE_URL": try TestDatabase.url(), "RESEARCH_STORE_HOME": root])
        #expect(status.status == 0, "\(status.text)")
        #expect(status.text.contains("applied  schema.sql"), "\(status.text)")

        let unreachable = try await run(
            ["migrate", "--status"], environment: ["DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "RESEARCH_STORE_HOME": root])
        #expect(unreachable.status != 0, "\(unreachable.text)")

        let missing = try await run(["migrate"], environment: ["RESEARCH_STORE_HOME": "/nonexistent"])
        #expect(missing.status != 0)
        #expect(missing.text.contains("/nonexistent/scripts/migrate not found"), "\(missing.text)")
    }

    /// Full Foundation brings ICU (tens of MB of code and data, README "A smaller program"); the
    /// server needs only FoundationEssentials. One `import Foundation` in any module it links
    /// would add the library to the executable's needed list.
    @Test("the server links FoundationEssentials, never full Foundation and its ICU")
    func noFullFoundation() async throws {
        let root = try TestDatabase.repositoryRoot()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/readelf")
        process.arguments = ["--dynamic", root + "/.build/debug/research-store"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let needed = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(process.terminationStatus == 0)
        #expect(needed.contains { $0.contains("libFoundationEssentials.so") }, "\(needed)")
        for library in ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"] {
            #expect(!needed.contains { $0.contains("[\(library)]") }, "\(library) is linked: \(needed)")
        }
    }
}
