import Foundation
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

/// `research-store import export`: a user's export, re-imported with its own ids.
@Suite("import export")
struct ImportExportTests {
    @Test("round trip: export a user, erase them, import the export, export again: the two are equal; a re-run adds nothing")
    func roundTrip() async throws {
        let user = uniqueUser("roundtrip")
        let directory = try ImportFixture.directory()
        let path = directory + "/export.json"
        try await withAPI { client in
            _ = try await populate(client, user: user)
            let first = try await client.call(.get, "/db/users/\(user)/export", as: user)
            #expect(first.status == .ok)
            let exported = String(buffer: first.body)
            try exported.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try await client.call(.delete, "/db/users/\(user)", as: user).status == .noContent)
            #expect(try await client.call(.get, "/db/users/\(user)/export", as: user).status == .notFound)

            let imported = try await ImportFixture.runImport(["export", path])
            #expect(imported.status == 0, "\(imported.text)")
            #expect(try ImportFixture.counts(imported, "users") == [1, 1, 0, 0], "\(imported.text)")
            #expect(try ImportFixture.counts(imported, "sessions") == [2, 2, 0, 0], "\(imported.text)")
            #expect(try ImportFixture.counts(imported, "messages") == [6, 6, 0, 0], "\(imported.text)")
            #expect(try ImportFixture.counts(imported, "research_requests") == [1, 1, 0, 0], "\(imported.text)")
            #expect(try ImportFixture.counts(imported, "feedback") == [3, 3, 0, 0], "\(imported.text)")
            #expect(try ImportFixture.counts(imported, "llm_usage") == [2, 2, 0, 0], "\(imported.text)")
            #expect(try ImportFixture.counts(imported, "analytics_events") == [3, 3, 0, 0], "\(imported.text)")

            let second = try await client.call(.get, "/db/users/\(user)/export", as: user)
            #expect(second.status == .ok)
            #expect(String(buffer: second.body) == exported)

            let rerun = try await ImportFixture.runImport(["export", path])
            #expect(rerun.status == 0, "\(rerun.text)")
            #expect(try ImportFixture.counts(rerun, "sessions") == [2, 0, 2, 0], "\(rerun.text)")
            #expect(try ImportFixture.counts(rerun, "messages") == [6, 0, 6, 0], "\(rerun.text)")
            #expect(try ImportFixture.counts(rerun, "feedback") == [3, 0, 3, 0], "\(rerun.text)")
            #expect(try ImportFixture.counts(rerun, "analytics_events") == [3, 0, 3, 0], "\(rerun.text)")
            let third = try await client.call(.get, "/db/users/\(user)/export", as: user)
            #expect(String(buffer: third.body) == exported)

            // The imported events kept their ids, and the identity hands out none of them again.
            #expect(try await client.call(.post, "/db/analytics/log", as: user, json: #"{"event_type": "after"}"#).status == .accepted)
            let ids = try await TestDatabase.withConnection { connection in
                try await connection.query("SELECT id FROM analytics_events WHERE user_id = \(user) ORDER BY id").map { try $0.decode(0, as: Int.self) }
            }
            #expect(ids.count == 4 && Set(ids).count == 4)
        }
    }

    @Test("an export with a broken session: the session and its messages are named and skipped, the rest imported")
    func brokenSession() async throws {
        let user = uniqueUser("broken-export")
        let session = UUID().uuidString.lowercased()
        let message = UUID().uuidString.lowercased()
        let document = """
            {"user": {"id": "\(user)", "first_seen": "2024-01-01T00:00:00.000Z", "last_seen": "2024-01-02T00:00:00.000Z", "session_count": 2},
             "sessions": [
              {"id": "\(session)", "user_id": "\(user)", "title": "kept", "status": "active", "metadata": {"a": 1}, "message_count": 1,
               "total_tokens": 3, "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2024-01-01T00:00:01.000Z",
               "last_message_at": "2024-01-01T00:00:01.000Z",
               "messages": [{"id": "\(message)", "session_id": "\(session)", "seq": 1, "role": "user", "content": "hello there",
                 "token_count": 3, "token_count_estimated": false, "tokens": {"o200k_base": 3, "cl100k_base": 3}, "model": null,
                 "metadata": {}, "created_at": "2024-01-01T00:00:01.000Z"}], "research": []},
              {"id": "\(UUID().uuidString.lowercased())", "user_id": "\(user)", "title": "bad", "status": "active", "metadata": {},
               "message_count": 1, "total_tokens": 1, "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2024-01-01T00:00:00.000Z",
               "last_message_at": "2024-01-01T00:00:00.000Z",
               "messages": [{"id": "\(UUID().uuidString.lowercased())", "seq": 1, "role": "wizard", "content": "SECRET-\(user)",
                 "token_count": 1, "token_count_estimated": false, "tokens": null, "model": null, "metadata": {},
                 "created_at": "2024-01-01T00:00:00.000Z"}], "research": []}
             ],
             "feedback": [], "llm_usage": [], "analytics_events": []}
            """
        let path = try ImportFixture.directory() + "/export.json"
        try document.write(toFile: path, atomically: true, encoding: .utf8)
        let strict = try await ImportFixture.runImport(["export", path, "--strict"])
        #expect(strict.status == 1 && strict.text.contains("nothing was written"), "\(strict.text)")
        #expect(try await ImportYralTests.rowsOf(user) == [0, 0])
        let output = try await ImportFixture.runImport(["export", path])
        #expect(output.status == 0, "\(output.text)")
        #expect(!output.text.contains("SECRET-"), "\(output.text)")
        #expect(output.text.contains("role is not one of"), "\(output.text)")
        #expect(try ImportFixture.counts(output, "sessions") == [2, 1, 0, 1], "\(output.text)")
        #expect(try ImportFixture.counts(output, "messages") == [2, 1, 0, 1], "\(output.text)")
        try await TestDatabase.withConnection { connection in
            let row = try await connection.query(
                """
                SELECT s.message_count, s.total_tokens, m.seq, m.tokens_o200k, u.first_seen
                FROM sessions s JOIN messages m ON m.session_id = s.id JOIN users u ON u.id = s.user_id
                WHERE s.id = \(UUID(uuidString: session)!)
                """)
            let (count, total, seq, o200k, firstSeen) = try #require(row.first).decode((Int, Int, Int, Int?, Date).self)
            #expect(count == 1 && total == 3 && seq == 1 && o200k == 3)
            #expect(firstSeen == ImportYralTests.date("2024-01-01T00:00:00Z"))
        }
    }
}
