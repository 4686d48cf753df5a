import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Errors keep what PostgreSQL said and leak nothing")
struct ErrorTests {
    @Test("unique, foreign-key and check violations surface their SQLSTATE and constraint")
    func constraintViolations() async throws {
        try await TestDatabase.withConnection { connection in
            try await connection.query("CREATE TEMP TABLE parent (id int PRIMARY KEY)")
            try await connection.query(
                """
                CREATE TEMP TABLE child (
                    id int CONSTRAINT child_pkey PRIMARY KEY,
                    parent_id int CONSTRAINT child_parent_fk REFERENCES parent (id),
                    rating int CONSTRAINT child_rating_range CHECK (rating BETWEEN 1 AND 5)
                )
                """)
            try await connection.query("INSERT INTO parent VALUES (1)")
            try await connection.query("INSERT INTO child VALUES (1, 1, 3)")

            let secret = "secret-value-42"
            let unique = try await #require(throws: PostgresError.self) {
                try await connection.query("INSERT INTO child VALUES (1, 1, 3) -- \(unsafeRaw: secret)")
            }
            #expect(unique.sqlState == "23505")
            #expect(unique.constraint == "child_pkey")
            #expect(unique.code == .server)
            #expect(!unique.isConnectionError)

            let foreign = try await #require(throws: PostgresError.self) {
                try await connection.query("INSERT INTO child VALUES (2, 99, 3)")
            }
            #expect(foreign.sqlState == "23503")
            #expect(foreign.constraint == "child_parent_fk")
            #expect(foreign.detail != nil)

            let check = try await #require(throws: PostgresError.self) {
                try await connection.query("INSERT INTO child VALUES (3, 1, \(9))")
            }
            #expect(check.sqlState == "23514")
            #expect(check.constraint == "child_rating_range")
            #expect(check.sqlStateClass == "23")

            // The description names kind, SQLSTATE and constraint; never SQL, values or row data.
            for error in [unique, foreign, check] {
                #expect(!error.description.contains("INSERT"))
                #expect(!error.description.contains(secret))
                #expect(!error.description.contains("99"))
            }
            // The connection stays usable after statement errors.
            #expect(try await connection.query("SELECT 1").count == 1)
        }
    }

    @Test("a syntax error keeps severity, message and hint")
    func syntaxError() async throws {
        try await TestDatabase.withConnection { connection in
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("SELEC 1")
            }
            #expect(error.sqlState == "42601")
            #expect(error.severity == "ERROR")
            #expect(error.message?.contains("syntax error") == true)
            #expect(!error.description.contains("SELEC"))
        }
    }

    @Test("a failed connect is a connection error that never shows the password")
    func connectFailure() async throws {
        let base = try TestDatabase.configuration()
        let password = "Sup3r-Secret-Passw0rd"
        let host = base.value(of: "host") ?? "127.0.0.1"
        let port = base.value(of: "port") ?? "5432"
        let configuration = try PostgresConfiguration(
            connectionString: "postgresql://research_store:\(password)@\(host):\(port)/research_store?sslmode=disable")
        #expect(!configuration.description.contains(password))
        #expect(configuration.description.contains("host=\(host)"))
        let capture = LogCapture()
        let error = try await #require(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(
                configuration: configuration, executor: TestDatabase.executor, logger: capture.logger())
        }
        #expect(error.code == .connectionFailed)
        #expect(error.isConnectionError)
        #expect(error.message?.contains("password authentication failed") == true)
        #expect(!error.description.contains(password))
        #expect(!error.debugDescription.contains(password))
        #expect(!capture.entries.contains { $0.text.contains(password) })
    }

    @Test("nothing listening is a connection error, quickly")
    func refused() async throws {
        let configuration = try PostgresConfiguration(connectionString: "host=127.0.0.1 port=1 dbname=x connect_timeout=2")
        let error = try await #require(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(
                configuration: configuration, executor: TestDatabase.executor, logger: TestDatabase.logger)
        }
        #expect(error.code == .connectionFailed)
    }

    @Test("a malformed connection string is refused without echoing it")
    func badConnectionString() {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConfiguration(connectionString: "postgresql://user:hunter2@host:notaport%zz/db")
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message?.contains("hunter2") == false)
        let unknown = #expect(throws: PostgresError.self) {
            try PostgresConfiguration(connectionString: "host=x sslmod=require")
        }
        #expect(unknown?.message?.contains("sslmod") == true)
    }

    @Test("several hosts: libpq tries them in order")
    func multipleHosts() async throws {
        let base = try TestDatabase.configuration()
        let host = base.value(of: "host") ?? "127.0.0.1"
        let port = base.value(of: "port") ?? "5432"
        let password = base.value(of: "password") ?? ""
        var configuration = try PostgresConfiguration(
            connectionString:
                "host=127.0.0.1,\(host) port=1,\(port) dbname=research_store user=research_store password=\(password) "
                + "sslmode=disable target_session_attrs=read-write application_name=multi-host-test")
        configuration.connectTimeoutSeconds = 2
        let connection = try await PostgresConnection.connect(
            configuration: configuration, executor: TestDatabase.executor, logger: TestDatabase.logger)
        let row = try #require(try await connection.query("SELECT current_setting('application_name')").first)
        #expect(try row.decode(0, as: String.self) == "multi-host-test")
        await connection.close()
    }

    @Test("notices go to the logger")
    func notices() async throws {
        let capture = LogCapture()
        let connection = try await TestDatabase.connect(logger: capture.logger())
        try await connection.query("DO $$ BEGIN RAISE WARNING 'careful: %', 42; RAISE NOTICE 'hello'; END $$")
        await connection.close()
        let warning = capture.entries.first { $0.metadata["db.notice.message"] == "careful: 42" }
        #expect(warning?.level == .warning)
        #expect(capture.entries.contains { $0.metadata["db.notice.message"] == "hello" })
    }
}

extension PostgresQuery.StringInterpolation {
    /// Test-only: raw SQL text (a comment) to prove errors never echo the statement.
    mutating func appendInterpolation(unsafeRaw text: String) { appendLiteral(text) }
}
