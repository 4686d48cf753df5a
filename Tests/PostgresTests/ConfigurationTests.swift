import Foundation
@testable import Postgres
import TestSupport
import Testing

@Suite("Connection parameters: our TCP defaults, and the URL's word over them")
struct ConfigurationTests {
    static let defaults = [
        "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3",
        "tcp_user_timeout": "30000",
    ]

    func parameters(_ string: String) throws -> [String: [String]] {
        Dictionary(grouping: try PostgresConfiguration(connectionString: string).connectParameters, by: { $0.keyword })
            .mapValues { $0.map { $0.value } }
    }

    @Test("keepalives and tcp_user_timeout are set when the URL does not set them")
    func defaultsPresent() throws {
        let parameters = try parameters("postgresql://user@db.example:5432/app")
        for (keyword, value) in Self.defaults {
            #expect(parameters[keyword] == [value], "\(keyword)")
        }
    }

    @Test("a URL overrides each of them, and only that one")
    func urlOverrides() throws {
        for (keyword, _) in Self.defaults {
            let parameters = try parameters("postgresql://user@db.example:5432/app?\(keyword)=0")
            #expect(parameters[keyword] == ["0"], "\(keyword)")
            for (other, value) in Self.defaults where other != keyword {
                #expect(parameters[other] == [value], "\(other) with \(keyword) set")
            }
        }
        let keyValue = try parameters("host=db.example keepalives_idle=120 tcp_user_timeout=5000")
        #expect(keyValue["keepalives_idle"] == ["120"])
        #expect(keyValue["tcp_user_timeout"] == ["5000"])
    }

    @Test("a connection with the defaults works over TCP, and libpq reports them")
    func connectionWithDefaults() async throws {
        let connection = try await TestDatabase.connect()
        let rows = try await connection.query("SELECT 1")
        #expect(rows.count == 1)
        #expect(connection.libpqOption("keepalives") == "1")
        #expect(connection.libpqOption("keepalives_idle") == "30")
        #expect(connection.libpqOption("tcp_user_timeout") == "30000")
        await connection.close()
    }
}
