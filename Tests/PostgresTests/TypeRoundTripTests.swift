import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Types round-trip through PostgreSQL")
struct TypeRoundTripTests {
    struct Document: Codable, Equatable, Sendable {
        var name: String
        var tags: [String]
        var count: Int64
    }

    @Test("integers keep their extremes")
    func integers() async throws {
        try await TestDatabase.withConnection { connection in
            let numbers: [Int64] = [.min, -1, 0, 1, .max]
            for number in numbers {
                let row = try #require(try await connection.query("SELECT \(number)::int8").first)
                #expect(try row.decode(0, as: Int64.self) == number)
            }
            let row = try #require(
                try await connection.query("SELECT \(Int32.min)::int4, \(Int32.max)::int4, \(Int16.min)::int2, \(Int.max)").first)
            let (a, b, c, d) = try row.decode((Int32, Int32, Int16, Int).self)
            #expect(a == .min && b == .max && c == .min && d == .max)
            // Narrower server types widen into Int.
            let widened = try #require(try await connection.query("SELECT 7::int2, 8::int4").first)
            let (small, medium) = try widened.decode((Int, Int64).self)
            #expect(small == 7 && medium == 8)
        }
    }

    @Test("doubles, booleans and numerics")
    func floatingPointAndBool() async throws {
        try await TestDatabase.withConnection { connection in
            let values: [Double] = [0, -0.5, 1e-300, 1.7976931348623157e308, 3.141592653589793, 0.1]
            for number in values {
                let row = try #require(try await connection.query("SELECT \(number)").first)
                #expect(try row.decode(0, as: Double.self) == number)
            }
            let row = try #require(
                try await connection.query("SELECT \(true), \(false), 12345.678900::numeric(12,6), (-0.00042)::numeric, 10000::numeric").first)
            #expect(try row.decode(0, as: Bool.self) == true)
            #expect(try row.decode(1, as: Bool.self) == false)
            #expect(try row.decode(2, as: String.self) == "12345.678900")
            #expect(try row.decode(3, as: String.self) == "-0.00042")
            #expect(try row.decode(4, as: String.self) == "10000")
            #expect(try row.decode(2, as: Double.self) == 12345.6789)
        }
    }

    @Test("text keeps unicode, hostile strings and large values verbatim", arguments: [
        "", "plain", "héllo wörld", "emoji 🧪🚀👩‍👩‍👧", "مرحبا بالعالم", "עִבְרִית", "tab\tnew\nline\r\\back",
        "'; DROP TABLE users; --", "$1 $2 \\x00 %s %n", "Robert'); DELETE FROM sessions;--",
        String(repeating: "ž", count: 100_000),
    ])
    func text(_ text: String) async throws {
        try await TestDatabase.withConnection { connection in
            let row = try #require(try await connection.query("SELECT \(text), length(\(text))").first)
            #expect(try row.decode(0, as: String.self) == text)
            #expect(try row.decode(1, as: Int.self) == text.unicodeScalars.count)
        }
    }

    @Test("UUIDs, timestamps and bytea")
    func uuidDateBytes() async throws {
        try await TestDatabase.withConnection { connection in
            let id = UUID()
            let date = Date(timeIntervalSince1970: 1_795_000_000.123456)
            let bytes = PostgresBytes([0, 1, 2, 255, 0])
            let row = try #require(
                try await connection.query("SELECT \(id), \(date), \(bytes), \(id)::text, '2026-11-23T10:47:34.123Z'::timestamptz").first)
            #expect(try row.decode(0, as: UUID.self) == id)
            let decoded = try row.decode(1, as: Date.self)
            #expect(abs(decoded.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
            #expect(try row.decode(2, as: PostgresBytes.self) == bytes)
            #expect(try row.decode(3, as: String.self) == id.uuidString.lowercased())
            #expect(try row.decode(4, as: Date.self) == Date(timeIntervalSince1970: 1_795_430_854.123))
        }
    }

    @Test("jsonb as Codable and as raw text")
    func json() async throws {
        try await TestDatabase.withConnection { connection in
            let document = Document(name: "ünïcode ✓", tags: ["a", "b"], count: Int64.max)
            let row = try #require(
                try await connection.query(
                    "SELECT \(PostgresJSON(document)), \(PostgresRawJSON(#"{"n": 9007199254740993, "x": [1.5, null]}"#))"
                ).first)
            #expect(try row.decode(0, as: PostgresJSON<Document>.self).value == document)
            // jsonb keeps numbers exactly (it stores numeric), which a Double would not.
            #expect(try row.decode(1, as: PostgresRawJSON.self).text == #"{"n": 9007199254740993, "x": [1.5, null]}"#)
            let plain = try #require(try await connection.query(#"SELECT '{"a":1}'::json"#).first)
            #expect(try plain.decode(0, as: PostgresRawJSON.self).text == #"{"a":1}"#)
        }
    }

    @Test("arrays, including empty ones and NULL elements")
    func arrays() async throws {
        try await TestDatabase.withConnection { connection in
            let strings = ["a", "", "with,comma", "quote\"s", "ünï"]
            let ids = [UUID(), UUID()]
            let numbers: [Int] = [1, -2, .max]
            let empty: [String] = []
            let row = try #require(
                try await connection.query("SELECT \(strings), \(ids), \(numbers), \(empty), ARRAY['x', NULL]::text[]").first)
            #expect(try row.decode(0, as: [String].self) == strings)
            #expect(try row.decode(1, as: [UUID].self) == ids)
            #expect(try row.decode(2, as: [Int].self) == numbers)
            #expect(try row.decode(3, as: [String].self) == [])
            #expect(try row.decode(4, as: [String?].self) == ["x", nil])
        }
    }

    @Test("NULL decodes to nil, and to an error naming the column for a non-optional")
    func nulls() async throws {
        try await TestDatabase.withConnection { connection in
            let missing: String? = nil
            let row = try #require(try await connection.query("SELECT \(missing) AS title, NULL::int8 AS count").first)
            #expect(try row.decode("title", as: String?.self) == nil)
            #expect(try row.decode("count", as: Int?.self) == nil)
            #expect(row.isNull(0))
            let error = try #require(throws: PostgresError.self) { try row.decode("count", as: Int.self) }
            #expect(error.code == .decoding)
            #expect(error.column == "count")
        }
    }

    @Test("a type mismatch names the column and both types")
    func mismatch() async throws {
        try await TestDatabase.withConnection { connection in
            let row = try #require(try await connection.query("SELECT 'x'::text AS title, 1::int4 AS n").first)
            let error = try #require(throws: PostgresError.self) { try row.decode("title", as: Int.self) }
            #expect(error.code == .decoding)
            #expect(error.column == "title")
            #expect(error.message?.contains("text") == true)
            #expect(error.description.contains("title"))
            let missing = try #require(throws: PostgresError.self) { try row.decode("nope", as: Int.self) }
            #expect(missing.column == "nope")
        }
    }

    @Test("injection strings are stored as data, not run")
    func injectionIsData() async throws {
        let table = TestDatabase.uniqueName("injection")
        try await TestDatabase.withConnection { connection in
            try await connection.query("CREATE TABLE \(identifier: table) (id serial PRIMARY KEY, body text NOT NULL)")
            defer { Task { try? await TestDatabase.withConnection { try await $0.query("DROP TABLE IF EXISTS \(identifier: table)") } } }
            let hostile = "x'); DROP TABLE \(table); --"
            try await connection.query("INSERT INTO \(identifier: table) (body) VALUES (\(hostile))")
            let rows = try await connection.query("SELECT body FROM \(identifier: table)")
            #expect(rows.count == 1)
            #expect(try rows[0].decode(0, as: String.self) == hostile)
        }
    }

    @Test("a quoted identifier cannot break out of its quotes")
    func identifierQuoting() {
        let query: PostgresQuery = "SELECT * FROM \(identifier: #"evil"; DROP TABLE x; --"#)"
        #expect(query.sql == #"SELECT * FROM "evil""; DROP TABLE x; --""#)
        #expect(query.bindings.count == 0)
    }

    @Test("interpolated values become numbered parameters, never SQL text")
    func interpolationBinds() {
        let name = "O'Brien"
        let limit = 5
        let query: PostgresQuery = "SELECT * FROM t WHERE name = \(name) LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM t WHERE name = $1 LIMIT $2")
        #expect(query.bindings.count == 2)
        #expect(!query.description.contains("O'Brien"))
    }
}
