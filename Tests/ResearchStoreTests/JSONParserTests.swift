import Foundation
import ResearchStore
import Testing

@Suite("Strict JSON parsing")
struct JSONParserTests {
    func parse(_ text: String) throws(JSONParser.Failure) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test("values keep their text and order, and serialise back compactly")
    func roundTrip() throws {
        let value = try parse(#" { "b" : [1, -0.5, 1e3, true, false, null], "a": "x\"y\\z\n\u00e9\ud83e\uddea" } "#)
        #expect(value.serialized == #"{"b":[1,-0.5,1e3,true,false,null],"a":"x\"y\\z\né🧪"}"#)
        #expect(value["a"] == .string("x\"y\\z\né🧪"))
        #expect(value["b"] == .array([.number("1"), .number("-0.5"), .number("1e3"), .bool(true), .bool(false), .null]))
    }

    @Test("integers within int64 and finite doubles pass; others are refused with their path")
    func numbers() throws {
        #expect(try parse("[9223372036854775807, -9223372036854775808, 1.7976931348623157e308]") == .array([
            .number("9223372036854775807"), .number("-9223372036854775808"), .number("1.7976931348623157e308"),
        ]))
        for (text, path) in [(#"{"n": 9223372036854775808}"#, "n"), (#"{"a": [0, 1e309]}"#, "a[1]")] {
            let failure = #expect(throws: JSONParser.Failure.self) { try parse(text) }
            #expect(failure?.isSyntax == false)
            #expect(failure?.path == path)
        }
    }

    @Test("syntax errors are 400 material", arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "nul", "\"\u{01}\"", "{} x", "\"\\ud800\""])
    func syntax(_ text: String) {
        let failure = #expect(throws: JSONParser.Failure.self) { try parse(text) }
        #expect(failure?.isSyntax == true)
    }

    @Test("depth 32 passes, 33 is refused; \\u0000 is refused")
    func depthAndNul() throws {
        let ok = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        _ = try parse(ok)
        let tooDeep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(throws: JSONParser.Failure.self) { try parse(tooDeep) }
        let nul = #expect(throws: JSONParser.Failure.self) { try parse(#"{"k": ["ok", "a\u0000"]}"#) }
        #expect(nul?.path == "k[1]")
        #expect(nul?.isSyntax == false)
    }

    @Test("serialising escapes quotes, backslashes and control characters, and keeps the rest")
    func escaping() throws {
        let text = "a\u{01}\"\\\n\t é🧪 \u{1F}"
        #expect(JSONValue.string(text).serialized == #""a\u0001\"\\\n\t é🧪 \u001f""#)
        #expect(try parse(JSONValue.string(text).serialized) == .string(text))
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }
}

@Suite("Timestamps and cursors")
struct TimestampAndCursorTests {
    @Test("formatting is RFC 3339, UTC, millisecond precision, also before 1970")
    func format() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_795_430_854.123)) == "2026-11-23T10:47:34.123Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
    }

    @Test("parsing accepts offsets and truncates to milliseconds")
    func parse() {
        #expect(Timestamp.parse("2026-11-23T11:47:34.1239+01:00") == Date(timeIntervalSince1970: 1_795_430_854.123))
        #expect(Timestamp.parse("2026-11-23T10:47:34Z") == Date(timeIntervalSince1970: 1_795_430_854))
        #expect(Timestamp.parse("yesterday") == nil)
    }

    @Test("a cursor decodes only as the kind it was issued for, only with the key that signed it")
    func cursors() throws {
        let signer = CursorSigner(secret: Array(repeating: 7, count: 32))
        let cursor = Cursor(kind: "sessions", position: 1_795_430_854_123, id: UUID())
        let text = signer.encode(cursor)
        #expect(try signer.decode(text, kind: "sessions") == cursor)
        #expect(throws: ServiceError.self) { try signer.decode(text, kind: "messages") }
        #expect(throws: ServiceError.self) { try signer.decode("bm90IGEgY3Vyc29y", kind: "sessions") }
        #expect(throws: ServiceError.self) { try signer.decode(String(text.dropLast(3)), kind: "sessions") }
        #expect(throws: ServiceError.self) { try signer.decode(text + "AA", kind: "sessions") }
        #expect(throws: ServiceError.self) { try CursorSigner.random().decode(text, kind: "sessions") }
        // An unsigned cursor of the old form, with a position no date can hold.
        let unsigned = Data("v1|sessions|9000000000000000000|\(UUID().uuidString)".utf8).base64URLEncodedString()
        #expect(throws: ServiceError.self) { try signer.decode(unsigned, kind: "sessions") }
    }

    @Test("dates PostgreSQL cannot hold are refused on input and never trap on output")
    func dateRange() {
        #expect(Timestamp.date(millisecondsSince1970: 9_000_000_000_000_000_000) == nil)
        #expect(Timestamp.date(millisecondsSince1970: .min) == nil)
        #expect(Timestamp.date(millisecondsSince1970: 0) == Date(timeIntervalSince1970: 0))
        #expect(Timestamp.parse("0001-01-01T00:00:00Z") != nil)
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1e300)).hasPrefix("294276-12-31"))
        #expect(Timestamp.format(Date(timeIntervalSince1970: .nan)).isEmpty == false)
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1e300)).isEmpty == false)
    }

    @Test("UUIDs are written in lower case, like uuidString.lowercased()")
    func uuidText() {
        for _ in 0..<100 {
            let id = UUID()
            #expect(id.lowercased == id.uuidString.lowercased())
        }
    }

    @Test("UUIDv7 ids are version 7 and sort by time")
    func uuidV7() {
        let early = UUIDv7.make(at: Date(timeIntervalSince1970: 1_700_000_000))
        let late = UUIDv7.make(at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(early.uuidString.dropFirst(14).first == "7")
        #expect(early.uuidString < late.uuidString)
    }
}
