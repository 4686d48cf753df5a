import Foundation
import Postgres
import TestSupport
import Testing

/// `research-store import graysky`: its SQLite database (seed document 001's tables) or its JSON files.
@Suite("import graysky")
struct ImportGrayskyTests {
    static let schema = """
        CREATE TABLE IF NOT EXISTS visitors (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            agent_type TEXT,
            purpose TEXT,
            visit_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            visit_count INTEGER NOT NULL DEFAULT 1,
            CONSTRAINT name_length CHECK(length(name) <= 100),
            CONSTRAINT agent_type_length CHECK(length(agent_type) <= 500),
            CONSTRAINT purpose_length CHECK(length(purpose) <= 500)
        );
        CREATE TABLE IF NOT EXISTS answers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            visitor_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            FOREIGN KEY (visitor_id) REFERENCES visitors(id) ON DELETE CASCADE,
            CONSTRAINT key_length CHECK(length(key) <= 50),
            CONSTRAINT value_length CHECK(length(value) <= 500)
        );
        CREATE TABLE IF NOT EXISTS feedback (
            id TEXT PRIMARY KEY,
            agent_name TEXT NOT NULL,
            agent_type TEXT,
            submission_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            issues TEXT,
            feature_requests TEXT,
            usability_rating INTEGER,
            additional_comments TEXT,
            CONSTRAINT agent_name_length CHECK(length(agent_name) <= 100),
            CONSTRAINT agent_type_length CHECK(length(agent_type) <= 500),
            CONSTRAINT issues_length CHECK(length(issues) <= 2000),
            CONSTRAINT feature_requests_length CHECK(length(feature_requests) <= 2000),
            CONSTRAINT additional_comments_length CHECK(length(additional_comments) <= 2000),
            CONSTRAINT usability_rating_range CHECK(usability_rating BETWEEN 1 AND 10)
        );

        """

    @Test("SQLite: a session per visitor with answers in metadata, feedback as events; bad rows named; a re-run adds nothing")
    func sqlite() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let owner = uniqueUser("graysky")
        let source = try await ImportFixture.sqlite(
            Self.schema + """
                INSERT INTO visitors VALUES ('\(tag)-v1', 'Claude', 'assistant', 'research', '2024-06-01 12:00:00', 3),
                                            ('\(tag)-v2', 'Broken', NULL, NULL, 'noon', 1);
                INSERT INTO answers (id, visitor_id, key, value) VALUES (1, '\(tag)-v1', 'favourite', 'tea'), (2, '\(tag)-v1', 'color', 'blue'),
                                                                       (3, '\(tag)-ghost', 'k', 'v');
                INSERT INTO feedback VALUES ('\(tag)-f1', 'Claude', 'assistant', '2024-06-01 12:30:00', 'slow search', NULL, 8, 'nice'),
                                            ('\(tag)-f2', 'Claude', NULL, '2024-06-01 12:31:00', NULL, NULL, 11, NULL);

                """, in: try ImportFixture.directory())
        let ownerless = try await ImportFixture.runImport(["graysky", source])
        #expect(ownerless.status != 0 && ownerless.text.contains("--user-id"), "\(ownerless.text)")

        let output = try await ImportFixture.runImport(["graysky", source, "--user-id", owner])
        #expect(output.status == 0, "\(output.text)")
        #expect(try ImportFixture.counts(output, "sessions") == [2, 1, 0, 1], "\(output.text)")
        #expect(try ImportFixture.counts(output, "analytics_events") == [2, 1, 0, 1], "\(output.text)")
        for named in ["visitors \"\(tag)-v2\": visit_time is not a timestamp", "answers \"3\": orphan", "feedback \"\(tag)-f2\": usability_rating is not 1–10"] {
            #expect(output.text.contains(named), "\(named) missing: \(output.text)")
        }
        try await TestDatabase.withConnection { connection in
            let session = try await connection.query(
                """
                SELECT title, metadata->>'agent_type', metadata->>'purpose', (metadata->>'visit_count')::int, metadata->'answers'->>'favourite',
                       metadata->'answers'->>'color', created_at, message_count
                FROM sessions WHERE user_id = \(owner)
                """)
            let (title, agent, purpose, visits, favourite, color, created, count) = try #require(session.first).decode(
                (String, String, String, Int, String, String, Date, Int).self)
            #expect(session.count == 1 && title == "Claude" && agent == "assistant" && purpose == "research" && visits == 3)
            #expect(favourite == "tea" && color == "blue" && count == 0)
            #expect(created == ImportYralTests.date("2024-06-01T12:00:00Z"))
            let event = try await connection.query(
                "SELECT event_type, properties->>'issues', (properties->>'usability_rating')::int, occurred_at FROM analytics_events WHERE user_id = \(owner)")
            let (type, issues, rating, occurred) = try #require(event.first).decode((String, String, Int, Date).self)
            #expect(event.count == 1 && type == "feedback.submitted" && issues == "slow search" && rating == 8)
            #expect(occurred == ImportYralTests.date("2024-06-01T12:30:00Z"))
        }
        let again = try await ImportFixture.runImport(["graysky", source, "--user-id", owner])
        #expect(try ImportFixture.counts(again, "sessions") == [2, 0, 1, 1], "\(again.text)")
        #expect(try ImportFixture.counts(again, "analytics_events") == [2, 0, 1, 1], "\(again.text)")
    }

    @Test("JSON files: visitors.json and feedback.json in a folder")
    func jsonFiles() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let owner = uniqueUser("graysky-json")
        let folder = try ImportFixture.directory()
        try """
            [{"id": "\(tag)-j1", "name": "Bard", "agent_type": null, "purpose": "browsing", "visit_time": "2024-06-02T08:00:00Z",
              "visit_count": 1, "answers": {"q": "a"}},
             {"id": "\(tag)-j2", "name": "Odd", "visit_time": "2024-06-02T08:00:00Z", "answers": ["not", "an", "object"]}]
            """.write(toFile: folder + "/visitors.json", atomically: true, encoding: .utf8)
        try """
            [{"id": "\(tag)-jf1", "agent_name": "Bard", "submission_time": "2024-06-02 09:00:00", "usability_rating": 9}]
            """.write(toFile: folder + "/feedback.json", atomically: true, encoding: .utf8)
        let output = try await ImportFixture.runImport(["graysky", folder, "--user-id", owner])
        #expect(output.status == 0, "\(output.text)")
        #expect(try ImportFixture.counts(output, "sessions") == [2, 1, 0, 1], "\(output.text)")
        #expect(try ImportFixture.counts(output, "analytics_events") == [1, 1, 0, 0], "\(output.text)")
        #expect(output.text.contains("visitors \"\(tag)-j2\": answers is not an object"), "\(output.text)")
        let titles = try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT title, metadata->'answers'->>'q' FROM sessions WHERE user_id = \(owner)")
                .map { try $0.decode((String, String).self) }
        }
        #expect(titles.map { "\($0.0) \($0.1)" } == ["Bard a"])
    }
}
