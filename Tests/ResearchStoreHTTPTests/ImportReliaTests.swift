import Foundation
import Postgres
import TestSupport
import Testing

/// `research-store import relia-sqlite`: SQLite files built from seed document 000's tables.
@Suite("import relia-sqlite")
struct ImportReliaTests {
    /// Relia's tables, as seed document 000 defines them.
    static let schema = """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            playbook_id TEXT NOT NULL,
            rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            comment TEXT,
            created_at TEXT NOT NULL,
            user_id TEXT DEFAULT 'anonymous'
        );
        CREATE TABLE telemetry (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_type TEXT NOT NULL,
            event_data TEXT NOT NULL,  -- JSON string
            created_at TEXT NOT NULL,
            user_id TEXT DEFAULT 'anonymous',
            session_id TEXT
        );
        CREATE TABLE playbooks (
            playbook_id TEXT PRIMARY KEY,
            module TEXT NOT NULL,
            prompt TEXT NOT NULL,
            yaml_content TEXT NOT NULL,
            created_at TEXT NOT NULL,
            user_id TEXT DEFAULT 'anonymous',
            status TEXT DEFAULT 'created'
        );
        CREATE TABLE llm_usage (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            duration_ms INTEGER,
            created_at TEXT NOT NULL,
            request_id TEXT,
            user_id TEXT DEFAULT 'anonymous'
        );

        """

    @Test("playbooks as sessions, ratings, telemetry and usage; anonymous rows owned by --user-id; bad rows named; a re-run adds nothing")
    func importsAndReruns() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let owner = uniqueUser("relia")
        let other = uniqueUser("relia-other")
        // Integer source ids, and the ids derived from them, unique to this run.
        let n = Int.random(in: 1...1_000_000_000) * 10
        let source = try await ImportFixture.sqlite(
            Self.schema + """
                INSERT INTO playbooks (playbook_id, module, prompt, yaml_content, created_at, user_id, status) VALUES
                    ('\(tag)-p1', 'security', 'Harden the SSH servers', '- hosts: all\n  tasks: []', '2024-05-01T10:00:00.250000', 'anonymous', 'created'),
                    ('\(tag)-p2', 'network', 'Open port 443', '- hosts: web', '2024-05-02 09:00:00', '\(other)', 'deployed'),
                    ('\(tag)-p3', 'broken', 'SECRET-\(tag)', 'x', 'not a time', 'anonymous', 'created');
                INSERT INTO feedback (id, playbook_id, rating, comment, created_at, user_id) VALUES
                    (\(n + 1), '\(tag)-p1', 2, 'first try', '2024-05-01T11:00:00', 'anonymous'),
                    (\(n + 2), '\(tag)-p1', 5, 'after the fix', '2024-05-01T12:00:00', 'anonymous'),
                    (\(n + 3), '\(tag)-nowhere', 4, NULL, '2024-05-01T12:00:00', 'anonymous'),
                    (\(n + 4), '\(tag)-p2', 7, NULL, '2024-05-02T12:00:00', '\(other)'),
                    (\(n + 5), '\(tag)-p2', 3, NULL, '2024-05-02T12:00:00', 'anonymous');
                INSERT INTO telemetry (id, event_type, event_data, created_at, user_id, session_id) VALUES
                    (\(n + 1), 'playbook_generated', '{"module": "security", "seconds": 4.5}', '2024-05-01T10:00:01', 'anonymous', 's-1'),
                    (\(n + 2), 'Bad Type', '{}', '2024-05-01T10:00:02', 'anonymous', NULL),
                    (\(n + 3), 'page_view', 'not json', '2024-05-01T10:00:03', '\(other)', NULL);
                INSERT INTO llm_usage (id, provider, model, prompt_tokens, completion_tokens, total_tokens, duration_ms, created_at, request_id, user_id) VALUES
                    (\(n + 1), 'openai', 'gpt-4o', 120, 80, 200, 950, '2024-05-01T10:00:00', 'req-\(tag)', 'anonymous'),
                    (\(n + 2), 'anthropic', 'claude', NULL, NULL, NULL, NULL, '2024-05-02T10:00:00', NULL, '\(other)');

                """, in: try ImportFixture.directory())

        let output = try await ImportFixture.runImport(["relia-sqlite", source, "--user-id", owner])
        #expect(output.status == 0, "\(output.text)")
        #expect(!output.text.contains("SECRET-"), "\(output.text)")
        #expect(try ImportFixture.counts(output, "users") == [2, 2, 0, 0], "\(output.text)")
        #expect(try ImportFixture.counts(output, "sessions") == [3, 2, 0, 1], "\(output.text)")
        #expect(try ImportFixture.counts(output, "messages") == [6, 4, 0, 2], "\(output.text)")
        #expect(try ImportFixture.counts(output, "feedback") == [5, 1, 0, 4], "\(output.text)")
        #expect(try ImportFixture.counts(output, "llm_usage") == [2, 2, 0, 0], "\(output.text)")
        #expect(try ImportFixture.counts(output, "analytics_events") == [3, 2, 0, 1], "\(output.text)")
        for (name, reason) in [
            ("playbooks \"\(tag)-p3\"", "created_at is not a timestamp"), ("feedback \"\(n + 3)\"", "orphan"), ("feedback \"\(n + 4)\"", "rating is not 1–5"),
            ("feedback \"\(n + 5)\"", "rated by another user"), ("telemetry \"\(n + 2)\"", "event_type is not"),
        ] {
            #expect(output.text.contains("\(name): \(reason)"), "\(name) not named with \(reason): \(output.text)")
        }

        try await TestDatabase.withConnection { connection in
            let sessions = try await connection.query(
                "SELECT title, metadata->>'status', created_at FROM sessions WHERE user_id = \(owner)")
            let (title, status, created) = try #require(sessions.first).decode((String, String, Date).self)
            #expect(sessions.count == 1 && title == "security playbook" && status == "created")
            #expect(created == Date(timeIntervalSince1970: 1_714_557_600.25))
            let messages = try await connection.query(
                "SELECT m.role, m.content FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.user_id = \(owner) ORDER BY m.seq")
            #expect(try messages.map { try $0.decode((String, String).self) }.map(\.0) == ["user", "assistant"])
            let rating = try await connection.query("SELECT rating, comment FROM feedback WHERE user_id = \(owner)")
            let (stars, comment) = try #require(rating.first).decode((Int, String?).self)
            #expect(rating.count == 1 && stars == 5 && comment == "after the fix")
            let events = try await connection.query(
                "SELECT user_id, event_type, properties::text FROM analytics_events WHERE user_id IN (\(owner), \(other)) ORDER BY event_type")
            let decoded = try events.map { try $0.decode((String, String, String).self) }
            #expect(decoded.map(\.1) == ["page_view", "playbook_generated"])
            #expect(decoded[0].2 == #"{"event_data": "not json"}"#)
            #expect(decoded[1].2 == #"{"module": "security", "seconds": 4.5, "session_id": "s-1"}"#, "\(decoded[1].2)")
            let usage = try await connection.query(
                "SELECT prompt_tokens, total_tokens FROM llm_usage WHERE user_id IN (\(owner), \(other)) ORDER BY total_tokens")
            #expect(try usage.map { try $0.decode((Int, Int).self) }.map(\.1) == [0, 200])
        }

        let again = try await ImportFixture.runImport(["relia-sqlite", source, "--user-id", owner])
        #expect(again.status == 0, "\(again.text)")
        #expect(try ImportFixture.counts(again, "sessions") == [3, 0, 2, 1], "\(again.text)")
        #expect(try ImportFixture.counts(again, "feedback") == [5, 0, 1, 4], "\(again.text)")
        #expect(try ImportFixture.counts(again, "llm_usage") == [2, 0, 2, 0], "\(again.text)")
        #expect(try ImportFixture.counts(again, "analytics_events") == [3, 0, 2, 1], "\(again.text)")
    }
}
