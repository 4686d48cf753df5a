import Foundation
import TestSupport
import Testing

/// The `research-store` executable, run as an operator would.
@Suite("research-store command line")
struct CommandLineTests {
    struct Output {
        var status: Int32
        var text: String
    }

    func run(_ arguments: [String], environment: [String: String]) throws -> Output {
        let root = try TestDatabase.repositoryRoot()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: root + "/.build/debug/research-store")
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { current, _ in current }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, text: String(decoding: data, as: UTF8.self))
    }

    @Test("bad settings are all reported at once, with exit code 78, without the password")
    func invalidSettings() throws {
        let output = try run(
            ["check"],
            environment: [
                "DATABASE_URL": "postgresql://u:Very-Secret-1@127.0.0.1:1/db", "PORT": "http",
                "DB_POOL_MAX": "0", "LOG_LEVEL": "loud", "DB_PREPARED_STATEMENTS": "maybe",
            ])
        #expect(output.status == 78)
        for name in ["PORT=http", "DB_POOL_MAX=0", "LOG_LEVEL=loud", "DB_PREPARED_STATEMENTS=maybe"] {
            #expect(output.text.contains(name), "missing \(name) in: \(output.text)")
        }
        #expect(!output.text.contains("Very-Secret-1"))
    }

    @Test("check prints the effective configuration with the password masked and reaches the database")
    func check() throws {
        let url = try TestDatabase.url()
        let password = try #require(URLComponents(string: url)?.password)
        let output = try run(["check"], environment: ["DATABASE_URL": url, "DB_POOL_MAX": "3"])
        #expect(output.status == 0, "\(output.text)")
        #expect(output.text.contains("DB_POOL_MAX=3"))
        #expect(output.text.contains("database: reachable"))
        #expect(!output.text.contains(password))
    }

    @Test("a connection string libpq cannot parse is refused before anything starts")
    func unparsableURL() throws {
        let output = try run(["check"], environment: ["DATABASE_URL": "host=x sslmod=require password=Hidden-Pw"])
        #expect(output.status == 78)
        #expect(output.text.contains("sslmod"))
        #expect(!output.text.contains("Hidden-Pw"))
    }

    @Test("AUTH_MODE=none refuses a non-loopback HOST unless explicitly allowed; jwt is refused for now")
    func authModeGuard() throws {
        let url = try TestDatabase.url()
        let exposed = try run(["check"], environment: ["DATABASE_URL": url, "HOST": "0.0.0.0"])
        #expect(exposed.status == 78)
        #expect(exposed.text.contains("HOST=0.0.0.0") && exposed.text.contains("UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK"))
        let allowed = try run(
            ["check"], environment: ["DATABASE_URL": url, "HOST": "0.0.0.0", "UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK": "true"])
        #expect(allowed.status == 0, "\(allowed.text)")
        #expect(allowed.text.contains("AUTH_MODE=none"))
        let jwt = try run(["check"], environment: ["DATABASE_URL": url, "AUTH_MODE": "jwt"])
        #expect(jwt.status == 78)
        #expect(jwt.text.contains("AUTH_MODE=jwt"))
    }
}
