import Foundation
import Postgres
import TestSupport
import Testing

@Suite("TLS with sslmode=verify-full against a real certificate")
struct TLSTests {
    func connect(_ url: String) async throws -> PostgresConnection {
        var configuration = try PostgresConfiguration(connectionString: url)
        configuration.connectTimeoutSeconds = 5
        return try await PostgresConnection.connect(
            configuration: configuration, executor: TestDatabase.executor, logger: TestDatabase.logger)
    }

    @Test("the right CA and host name connect, encrypted")
    func verifyFullSucceeds() async throws {
        let connection = try await connect(try TestDatabase.tlsURL())
        let row = try #require(try await connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first)
        #expect(try row.decode(0, as: Bool.self) == true)
        await connection.close()
    }

    @Test("a wrong CA is refused")
    func wrongCA() async throws {
        let url = try TestDatabase.tlsURL().replacingOccurrences(of: "/ca.crt", with: "/wrong-ca.crt")
        #expect(url.contains("wrong-ca.crt"))
        let error = try await #require(throws: PostgresError.self) { _ = try await connect(url) }
        #expect(error.code == .connectionFailed)
        #expect(error.message?.contains("certificate verify failed") == true)
    }

    @Test("a host name not in the certificate is refused")
    func wrongHostName() async throws {
        // Same server (hostaddr), but the name checked against the certificate is another one.
        let url = try TestDatabase.tlsURL()
        let separator = url.contains("?") ? "&" : "?"
        let error = try await #require(throws: PostgresError.self) {
            _ = try await connect(url.replacingOccurrences(of: "@localhost:", with: "@wrong-name.test:") + "\(separator)hostaddr=127.0.0.1")
        }
        #expect(error.code == .connectionFailed)
        #expect(error.message?.contains("does not match host name") == true)
    }
}
