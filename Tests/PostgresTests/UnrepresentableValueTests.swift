import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Values PostgreSQL cannot hold are refused with a typed error, never a trap")
struct UnrepresentableValueTests {
    /// A Julian year in seconds, close enough to place a date in a year far from the range's edges.
    static let year = 365.2425 * 86_400

    /// The first second of 4713-11-24 BC UTC, the first timestamptz PostgreSQL accepts.
    static let firstAccepted = Date(timeIntervalSince1970: -210_866_803_200)
    /// The last whole second before 294277-01-01 00:00 UTC, where timestamptz ends.
    static let lastAccepted = Date(timeIntervalSince1970: 9_224_318_015_999)

    static let unrepresentable: [(name: String, date: Date)] = [
        ("1e18 seconds", Date(timeIntervalSince1970: 1e18)),
        ("NaN", Date(timeIntervalSince1970: .nan)),
        ("infinity", Date(timeIntervalSince1970: .infinity)),
        ("minus infinity", Date(timeIntervalSince1970: -.infinity)),
        ("year 300000", Date(timeIntervalSince1970: (300_000 - 1970) * year)),
        ("year -5000", Date(timeIntervalSince1970: (-5000 - 1970) * year)),
        ("one second past the end", Date(timeIntervalSince1970: 9_224_318_016_000)),
        ("one second before the start", Date(timeIntervalSince1970: -210_866_803_201)),
    ]

    @Test("dates outside timestamptz's range, NaN and infinities throw unrepresentableValue before anything is sent")
    func datesOutOfRange() async throws {
        try await TestDatabase.withConnection { connection in
            let table = TestDatabase.uniqueName("dates")
            try await connection.query("CREATE TEMP TABLE \(identifier: table) (at timestamptz)")
            for (name, date) in Self.unrepresentable {
                let error = try await #require(throws: PostgresError.self, "\(name)") {
                    try await connection.query("INSERT INTO \(identifier: table) VALUES (\(date)) RETURNING \(1)")
                }
                #expect(error.code == .unrepresentableValue, "\(name)")
                #expect(error.message?.hasPrefix("parameter $1 (timestamptz)") == true, "\(name): \(error.message ?? "")")
                #expect(!error.isConnectionError)
            }
            // The parameter number is the failing one's; the message never shows the value.
            let second = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT \(1), \(Date(timeIntervalSince1970: 1e18))")
            }
            #expect(second.message?.hasPrefix("parameter $2 ") == true)
            // Arrays fail when an element does.
            let array = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT \([Date(), Date(timeIntervalSince1970: .nan)])")
            }
            #expect(array.code == .unrepresentableValue)
            #expect(array.message?.hasPrefix("parameter $1 (timestamptz[])") == true)
            // The pipeline refuses the whole batch up front: the good statement before it never ran.
            let pipeline = try await #require(throws: PostgresError.self) {
                try await connection.pipeline([
                    "INSERT INTO \(identifier: table) VALUES (\(Date()))",
                    "INSERT INTO \(identifier: table) VALUES (\(Date(timeIntervalSince1970: .infinity)))",
                ])
            }
            #expect(pipeline.code == .unrepresentableValue)
            #expect(try await connection.query("SELECT count(*) FROM \(identifier: table)")[0].decode(0, as: Int.self) == 0)
            #expect(connection.isReusable)
        }
        // Prepared statements take the same path.
        try await TestDatabase.withConnection({ $0.usePreparedStatements = true }) { connection in
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT \(Date(timeIntervalSince1970: -.infinity))::text")
            }
            #expect(error.code == .unrepresentableValue)
            #expect(try await connection.query("SELECT 1").count == 1)
        }
    }

    @Test("the first and last whole seconds timestamptz holds round-trip")
    func edgesRoundTrip() async throws {
        try await TestDatabase.withConnection { connection in
            try await connection.query("SET TimeZone = 'UTC'")
            let cases: [(Date, String)] = [
                (Self.firstAccepted, "4714-11-24 00:00:00+00 BC"),
                (Self.lastAccepted, "294276-12-31 23:59:59+00"),
            ]
            for (date, text) in cases {
                let row = try #require(try await connection.query("SELECT \(date), \(date)::text").first)
                #expect(try row.decode(0, as: Date.self) == date)
                let shown = try row.decode(1, as: String.self)
                #expect(shown == text, "\(shown)")
            }
        }
    }
}
