import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ResearchStoreHTTP
import TestSupport
import Testing

/// Every number, date and cursor a client can send, at the edges of every type: no answer may be
/// a `5xx`, and the server must still be up after each.
@Suite("Extreme values")
struct ExtremeValuesTests {
    static let numbers = [
        "-9223372036854775808", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "2147483648", "2147483647", "-2147483649", "-1", "0", "1.5", "-0", "1e308", "1e309", "-1e309", "4.9e-324",
        "NaN", "Infinity", "99999999999999999999999999999999",
    ]
    static let dates = [
        "0001-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z",
        "1970-01-01T00:00:00Z", "294276-12-31T23:59:59Z", "+294277-01-01T00:00:00Z", "294277-01-01T00:00:00Z",
        "-4714-11-24T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-02T24:00:00Z", "2026-12-02T10:00:00+99:00",
        "9223372036854775807", "NaN",
    ]

    /// A JSON literal of `text`: numbers as they are (NaN and the like are not JSON: a 400 is right).
    static func literal(_ text: String) -> String { text }

    @Test("numbers, dates and cursors at the edges never give a 5xx, and the server stays up")
    func extremes() async throws {
        let user = uniqueUser()
        try await withAPI(settings: HTTPSettings(port: 0)) { client in
            let session = try await createSession(client, user: user)
            let stored = try await client.call(
                .post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)", "role": "user", "content": "x"}"#)
            let message = try #require(try json(stored)["id"] as? String)
            var checked = 0

            func expectSurvives(_ method: HTTPRequest.Method, _ uri: String, json body: String? = nil) async throws {
                let response: TestResponse
                do {
                    response = try await client.call(method, uri, as: user, admin: true, json: body)
                } catch {
                    Issue.record("\(method) \(uri.prefix(200)) \(body ?? ""): no answer (\(error))")
                    return
                }
                #expect(response.status.code < 500, "\(method) \(uri.prefix(200)) \(body ?? ""): \(response.status) \(String(buffer: response.body).prefix(300))")
                if response.status.code >= 400 {
                    #expect(response.headers[.contentType] == "application/problem+json", "\(uri) \(body ?? "")")
                }
                let live = try await client.call(.get, "/livez", as: user)
                #expect(live.status == .ok, "the server went down after \(method) \(uri) \(body ?? "")")
                checked += 1
            }

            for number in Self.numbers {
                let query = number.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? number
                for path in [
                    "/db/sessions?limit=", "/db/sessions/\(session)/messages?limit=", "/db/research?limit=",
                    "/db/admin/audit?limit=", "/db/domain-sets?limit=", "/db/context/\(session)?max_tokens=",
                    "/db/context/\(session)?max_messages=",
                ] {
                    try await expectSurvives(.get, path + query)
                }
                let value = Self.literal(number)
                try await expectSurvives(
                    .post, "/db/messages/store",
                    json: #"{"session_id": "\#(session)", "role": "user", "content": "n", "token_count": \#(value)}"#)
                try await expectSurvives(
                    .post, "/db/messages/batch",
                    json: #"{"session_id": "\#(session)", "messages": [{"role": "user", "content": "n", "token_count": \#(value)}]}"#)
                try await expectSurvives(.post, "/db/analytics/log", json: #"{"event_type": "edge", "duration_ms": \#(value)}"#)
                try await expectSurvives(
                    .post, "/db/analytics/batch", json: #"{"events": [{"event_type": "edge", "duration_ms": \#(value)}]}"#)
                for field in ["prompt_tokens", "completion_tokens", "duration_ms", "cost_usd"] {
                    var fields = ["prompt_tokens": "1", "completion_tokens": "1", "duration_ms": "1", "cost_usd": "0.1"]
                    fields[field] = value
                    let body = fields.map { #""\#($0.key)": \#($0.value)"# }.joined(separator: ", ")
                    try await expectSurvives(.post, "/db/llm-usage", json: #"{"provider": "p", "model": "m", \#(body)}"#)
                    // The same number as a string where a decimal is allowed.
                    if field == "cost_usd" {
                        try await expectSurvives(
                            .post, "/db/llm-usage",
                            json: #"{"provider": "p", "model": "m", "prompt_tokens": 1, "completion_tokens": 1, "duration_ms": 1, "cost_usd": "\#(number)"}"#)
                    }
                }
                try await expectSurvives(
                    .post, "/db/feedback", json: #"{"target_type": "message", "target_id": "\#(message)", "rating": \#(value)}"#)
                try await expectSurvives(.put, "/db/cache/edge-\(user)", json: #"{"value": {"a": 1}, "ttl_seconds": \#(value)}"#)
            }

            for date in Self.dates {
                let query = date.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? date
                for path in [
                    "/db/analytics/summary", "/db/admin/stats/feedback", "/db/admin/stats/telemetry", "/db/admin/stats/llm",
                    "/db/admin/stats/activity",
                ] {
                    try await expectSurvives(.get, "\(path)?from=\(query)")
                    try await expectSurvives(.get, "\(path)?to=\(query)")
                    try await expectSurvives(.get, "\(path)?from=\(query)&to=\(query)")
                    try await expectSurvives(.get, "\(path)?from=0001-01-01T00:00:00Z&to=\(query)&bucket=day")
                }
                try await expectSurvives(.post, "/db/analytics/log", json: #"{"event_type": "edge", "occurred_at": "\#(date)"}"#)
                try await expectSurvives(
                    .post, "/db/analytics/batch", json: #"{"events": [{"event_type": "edge", "occurred_at": "\#(date)"}]}"#)
            }

            for cursor in ["", "A", String(repeating: "A", count: 10_000), "%00", "..", "v1%7Csessions%7C1%7C", "eyJhIjoxfQ"] {
                for path in ["/db/sessions", "/db/research", "/db/admin/audit", "/db/domain-sets", "/db/sessions/\(session)/messages"] {
                    try await expectSurvives(.get, "\(path)?cursor=\(cursor)")
                }
            }
            #expect(checked > 500)
        }
    }
}
