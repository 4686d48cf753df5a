import Foundation
import Postgres
import TestSupport
import Testing
import Tokenizer

/// `research-store import yral-sqlite`: SQLite files built from seed document 002's tables.
@Suite("import yral-sqlite")
struct ImportYralTests {
    /// Two personas, three conversations of `user` (one without messages), four messages out of
    /// source order; ids carry `tag` so that runs and tests never share rows.
    static func cleanSource(tag: String, user: String) -> String {
        ImportFixture.yralSchema + """
            INSERT INTO ai_influencers (id, name, display_name, category, system_instructions) VALUES
                ('\(tag)-ava', 'ava', 'Ava the Guide', 'travel', 'be kind'),
                ('\(tag)-max', 'max', 'Max', NULL, 'be brief');
            INSERT INTO conversations (id, user_id, influencer_id, created_at, updated_at) VALUES
                ('\(tag)-c1', '\(user)', '\(tag)-ava', '2024-01-02 10:00:00', '2024-01-02 10:05:00'),
                ('\(tag)-c2', '\(user)', '\(tag)-max', '2024-02-01 08:00:00', '2024-02-01 08:00:09'),
                ('\(tag)-c3', '\(user)', '\(tag)-gone', '2024-03-01 00:00:00', '2024-03-01 00:00:00');
            INSERT INTO messages (id, conversation_id, role, content, message_type, media_urls, audio_url, audio_duration_seconds, token_count, created_at) VALUES
                ('\(tag)-m9', '\(tag)-c1', 'assistant', 'third: Bonjour, où allez-vous? 🌍', 'TEXT', NULL, NULL, NULL, 999, '2024-01-02 10:00:07'),
                ('\(tag)-m2', '\(tag)-c1', 'assistant', 'second', 'TEXT', NULL, NULL, NULL, 999, '2024-01-02 10:00:05'),
                ('\(tag)-m1', '\(tag)-c1', 'user', 'first: hello there', 'TEXT', NULL, NULL, NULL, 999, '2024-01-02 10:00:05'),
                ('\(tag)-a1', '\(tag)-c2', 'user', NULL, 'AUDIO', '["https://cdn.example/a.png"]', 'https://cdn.example/a.ogg', 12, NULL, '2024-02-01 08:00:09');

            """
    }

    @Test("a clean import: counts, order, gapless seqs, timestamps, metadata and the server's token counts; a re-run adds nothing")
    func cleanImportAndRerun() async throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        let user = uniqueUser("yral")
        let directory = try ImportFixture.directory()
        let source = try await ImportFixture.sqlite(Self.cleanSource(tag: String(tag), user: user), in: directory)

        let first = try await ImportFixture.runImport(["yral-sqlite", source])
        #expect(first.status == 0, "\(first.text)")
        #expect(try ImportFixture.counts(first, "users") == [1, 1, 0, 0], "\(first.text)")
        #expect(try ImportFixture.counts(first, "sessions") == [3, 3, 0, 0], "\(first.text)")
        #expect(try ImportFixture.counts(first, "messages") == [4, 4, 0, 0], "\(first.text)")
        // Off a terminal, progress is a plain line (no escape sequences).
        #expect(first.text.contains("import: users 1, sessions 3/3, messages 4/4 after"), "\(first.text)")
        #expect(!first.text.contains("\u{1B}["), "\(first.text)")

        let o200k = try BPETokenizer.shared(.o200kBase)
        let cl100k = try BPETokenizer.shared(.cl100kBase)
        try await TestDatabase.withConnection { connection in
            let sessions = try await connection.query(
                """
                SELECT title, metadata::text, message_count, total_tokens, created_at, updated_at, last_message_at, status
                FROM sessions WHERE user_id = \(user) ORDER BY created_at
                """)
            #expect(sessions.count == 3)
            let (title, metadata, count, total, created, updated, last, status) = try sessions[0].decode(
                (String, String, Int, Int, Date, Date, Date?, String).self)
            #expect(title == "Ava the Guide" && status == "active")
            #expect(metadata == #"{"influencer": {"id": "\#(tag)-ava", "name": "ava", "category": "travel", "display_name": "Ava the Guide"}}"#, "\(metadata)")
            #expect(created == Self.date("2024-01-02T10:00:00Z") && updated == Self.date("2024-01-02T10:05:00Z"))
            #expect(last == Self.date("2024-01-02T10:00:07Z"))
            #expect(count == 3)
            // The persona missing from ai_influencers: the session keeps its id and a plain title.
            let (emptyTitle, _, emptyCount, _, _, _, emptyLast, _) = try sessions[2].decode(
                (String, String, Int, Int, Date, Date, Date?, String).self)
            #expect(emptyTitle == "Yral conversation" && emptyCount == 0 && emptyLast == nil)

            let messages = try await connection.query(
                """
                SELECT m.seq, m.role, m.content, m.created_at, m.token_count, m.token_count_estimated, m.tokens_o200k,
                       m.tokens_cl100k, m.metadata::text
                FROM messages m JOIN sessions s ON s.id = m.session_id
                WHERE s.user_id = \(user) ORDER BY s.created_at, m.seq
                """)
            #expect(messages.count == 4)
            var tokens = 0
            for (index, row) in messages.prefix(3).enumerated() {
                let (seq, _, content, _, tokenCount, estimated, exact, cl100kCount, _) = try row.decode(
                    (Int, String, String, Date, Int, Bool, Int?, Int?, String).self)
                #expect(seq == index + 1)
                #expect(content.hasPrefix(["first", "second", "third"][index]), "\(content)")
                #expect(tokenCount == o200k.count(content) && exact == o200k.count(content) && !estimated)
                #expect(cl100kCount == cl100k.count(content))
                tokens += tokenCount
            }
            #expect(total == tokens)
            #expect(try messages[0].decode(3, as: Date.self) == Self.date("2024-01-02T10:00:05Z"))
            #expect(try messages[0].decode(1, as: String.self) == "user")
            let (audioSeq, _, audioContent, _, audioTokens, _, _, _, audioMetadata) = try messages[3].decode(
                (Int, String, String, Date, Int, Bool, Int?, Int?, String).self)
            #expect(audioSeq == 1 && audioContent == "" && audioTokens == 0)
            #expect(
                audioMetadata
                    == #"{"audio_url": "https://cdn.example/a.ogg", "media_urls": ["https://cdn.example/a.png"], "message_type": "AUDIO", "audio_duration_seconds": 12}"#,
                "\(audioMetadata)")
        }

        let second = try await ImportFixture.runImport(["yral-sqlite", source])
        #expect(second.status == 0, "\(second.text)")
        #expect(try ImportFixture.counts(second, "users") == [1, 0, 1, 0], "\(second.text)")
        #expect(try ImportFixture.counts(second, "sessions") == [3, 0, 3, 0], "\(second.text)")
        #expect(try ImportFixture.counts(second, "messages") == [4, 0, 4, 0], "\(second.text)")
        let stored = try await TestDatabase.withConnection { connection in
            try await connection.query(
                "SELECT count(*) FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.user_id = \(user)"
            )[0].decode(0, as: Int.self)
        }
        #expect(stored == 4)
    }

    @Test("--dry-run reads and validates, prints the same summary, and writes nothing")
    func dryRun() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let user = uniqueUser("yral-dry")
        let source = try await ImportFixture.sqlite(Self.cleanSource(tag: tag, user: user), in: try ImportFixture.directory())
        let output = try await ImportFixture.runImport(["yral-sqlite", source, "--dry-run"])
        #expect(output.status == 0, "\(output.text)")
        #expect(output.text.contains("dry run"))
        #expect(try ImportFixture.counts(output, "sessions") == [3, 3, 0, 0], "\(output.text)")
        #expect(try ImportFixture.counts(output, "messages") == [4, 4, 0, 0], "\(output.text)")
        #expect(try await Self.rowsOf(user) == [0, 0])
    }

    @Test("hostile rows are named by table and source id and skipped, never printing content; the rest is imported gapless")
    func hostileRows() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let user = uniqueUser("yral-hostile")
        let secret = "SECRET-\(tag)"
        let source = try await ImportFixture.sqlite(Self.hostileSource(tag: tag, user: user, secret: secret), in: try ImportFixture.directory())
        let output = try await ImportFixture.runImport(["yral-sqlite", source])
        #expect(output.status == 0, "\(output.text)")
        #expect(!output.text.contains(secret), "content printed: \(output.text)")
        for (id, reason) in [
            ("\(tag)-role", "role is not one of"), ("\(tag)-utf8", "content is not valid UTF-8"), ("\(tag)-nul", "content contains U+0000"),
            ("\(tag)-time", "created_at is not a timestamp"), ("\(tag)-orphan", "orphan"), ("\(tag)-cbad", "created_at is not a timestamp"),
        ] {
            #expect(output.text.contains("\"\(id)\": \(reason)"), "\(id) not named with \(reason) in: \(output.text)")
        }
        #expect(output.text.contains("user_id is outside the allowed form; mapped to imported:"), "\(output.text)")
        // Read: 3 conversations, 8 messages. Skipped: 1 conversation; 5 bad messages and 1 of the bad conversation.
        #expect(try ImportFixture.counts(output, "sessions") == [3, 2, 0, 1], "\(output.text)")
        #expect(try ImportFixture.counts(output, "messages") == [8, 2, 0, 6], "\(output.text)")
        try await TestDatabase.withConnection { connection in
            let seqs = try await connection.query(
                "SELECT m.seq, m.content FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.user_id = \(user) ORDER BY m.seq")
            #expect(try seqs.map { try $0.decode((Int, String).self) }.map(\.0) == [1])
            let mapped = try await connection.query(
                "SELECT s.user_id, s.message_count FROM sessions s JOIN messages m ON m.session_id = s.id WHERE m.content = \("mapped-\(tag)")")
            let (owner, count) = try #require(mapped.first).decode((String, Int).self)
            #expect(owner.hasPrefix("imported:") && count == 1)
        }
    }

    @Test("--strict stops at the first bad row with nothing written")
    func strict() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let user = uniqueUser("yral-strict")
        let source = try await ImportFixture.sqlite(
            Self.hostileSource(tag: tag, user: user, secret: "SECRET-\(tag)"), in: try ImportFixture.directory())
        let output = try await ImportFixture.runImport(["yral-sqlite", source, "--strict"])
        #expect(output.status == 1, "\(output.text)")
        #expect(output.text.contains("aborted (--strict)") && output.text.contains("nothing was written"), "\(output.text)")
        #expect(!output.text.contains("SECRET-\(tag)"))
        #expect(try await Self.rowsOf(user) == [0, 0])
        // Without the bad rows the same file imports under --strict.
        let clean = try await ImportFixture.sqlite(Self.cleanSource(tag: tag, user: user), in: try ImportFixture.directory())
        let accepted = try await ImportFixture.runImport(["yral-sqlite", clean, "--strict"])
        #expect(accepted.status == 0, "\(accepted.text)")
        #expect(try await Self.rowsOf(user) == [3, 4])
    }

    @Test("a run killed midway (SIGKILL) leaves whole sessions; the next run completes it, gapless, with nothing twice")
    func interruptedRun() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let user = uniqueUser("yral-killed")
        let source = try await ImportFixture.sqlite(
            ImportFixture.yralSchema + """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)
                INSERT INTO conversations (id, user_id, influencer_id, created_at)
                SELECT '\(tag)-c' || i, '\(user)', 'persona-' || i, datetime(1704067200 + i, 'unixepoch') FROM n;
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
                INSERT INTO messages (id, conversation_id, role, content, message_type, created_at)
                SELECT '\(tag)-m' || i, '\(tag)-c' || (i / 5), CASE i % 2 WHEN 0 THEN 'user' ELSE 'assistant' END,
                       'message number ' || i, 'TEXT', datetime(1704067200 + i, 'unixepoch') FROM n;

                """, in: try ImportFixture.directory())
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestDatabase.repositoryRoot() + "/.build/debug/research-store")
        process.arguments = ["import", "yral-sqlite", source, "--batch-messages", "50", "--writers", "1"]
        process.environment = ["PATH": "/usr/bin:/bin", "ENV_FILE": "/dev/null", "DATABASE_URL": try TestDatabase.url()]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var stored = [0, 0]
        for _ in 0..<600 where stored[0] == 0 {
            try await Task.sleep(for: .milliseconds(50))
            stored = try await Self.rowsOf(user)
        }
        let killedMidway = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(killedMidway && stored[0] > 0)
        let partial = try await Self.rowsOf(user)
        #expect(partial[0] < 2000 && partial[1] == partial[0] * 5, "\(partial): whole sessions only")

        let rerun = try await ImportFixture.runImport(["yral-sqlite", source])
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(try ImportFixture.counts(rerun, "sessions") == [2000, 2000 - partial[0], partial[0], 0], "\(rerun.text)")
        #expect(try await Self.rowsOf(user) == [2000, 10000])
        let broken = try await TestDatabase.withConnection { connection in
            try await connection.query(
                """
                SELECT count(*) FROM sessions s
                WHERE s.user_id = \(user)
                  AND (s.message_count <> 5 OR (SELECT max(seq) FROM messages WHERE session_id = s.id) <> 5
                       OR (SELECT count(DISTINCT seq) FROM messages WHERE session_id = s.id) <> 5)
                """)[0].decode(0, as: Int.self)
        }
        #expect(broken == 0)
    }

    @Test("ids are RFC 9562 UUIDv5 over our namespace and FORMAT:table:sourceID (the value Python's uuid.uuid5 gives)")
    func deterministicIDs() async throws {
        // The conversation id is fixed, so a kept database may hold the session from an earlier run.
        let source = try await ImportFixture.sqlite(
            ImportFixture.yralSchema + """
                INSERT INTO conversations (id, user_id, influencer_id, created_at) VALUES
                    ('known-answer-conversation', 'known-answer-user', 'nobody', '2024-01-01 00:00:00');

                """, in: try ImportFixture.directory())
        let output = try await ImportFixture.runImport(["yral-sqlite", source])
        #expect(output.status == 0, "\(output.text)")
        let owner = try await TestDatabase.withConnection { connection in
            try await connection.query(
                "SELECT user_id FROM sessions WHERE id = \(UUID(uuidString: "689001ac-b154-5be6-91bf-1a9dc18d27ed")!)"
            ).first?.decode(0, as: String.self)
        }
        #expect(owner == "known-answer-user")
    }

    /// One good message, and rows no store should take: a role outside the contract, invalid
    /// UTF-8 (an X'' blob), a NUL, a bad timestamp, an orphan, a conversation with a bad
    /// timestamp (and its message), a user id outside the allowed form.
    static func hostileSource(tag: String, user: String, secret: String) -> String {
        ImportFixture.yralSchema + """
            INSERT INTO ai_influencers (id, name, display_name, system_instructions) VALUES
                ('\(tag)-ava', 'ava', 'Ava', 'x'), ('\(tag)-bob', 'bob', 'Bob', 'x');
            INSERT INTO conversations (id, user_id, influencer_id, created_at) VALUES
                ('\(tag)-c1', '\(user)', '\(tag)-ava', '2024-01-02 10:00:00'),
                ('\(tag)-cbad', '\(user)', '\(tag)-bob', 'yesterday'),
                ('\(tag)-cmap', 'bad user/\(tag) ☃', '\(tag)-ava', '2024-01-02 10:00:00');
            INSERT INTO messages (id, conversation_id, role, content, message_type, created_at) VALUES
                ('\(tag)-ok', '\(tag)-c1', 'user', 'fine', 'TEXT', '2024-01-02 10:00:01'),
                ('\(tag)-role', '\(tag)-c1', 'robot', '\(secret) role', 'TEXT', '2024-01-02 10:00:02'),
                ('\(tag)-utf8', '\(tag)-c1', 'user', X'53454352455421C328', 'TEXT', '2024-01-02 10:00:03'),
                ('\(tag)-nul', '\(tag)-c1', 'user', CAST(X'5345435245540041' AS TEXT), 'TEXT', '2024-01-02 10:00:04'),
                ('\(tag)-time', '\(tag)-c1', 'user', '\(secret) time', 'TEXT', '2024-13-45 99:00:00'),
                ('\(tag)-orphan', '\(tag)-nowhere', 'user', '\(secret) orphan', 'TEXT', '2024-01-02 10:00:05'),
                ('\(tag)-inbad', '\(tag)-cbad', 'user', '\(secret) in bad', 'TEXT', '2024-01-02 10:00:05'),
                ('\(tag)-mapped', '\(tag)-cmap', 'user', 'mapped-\(tag)', 'TEXT', '2024-01-02 10:00:05');

            """
    }

    /// The sessions and messages stored for `user`.
    static func rowsOf(_ user: String) async throws -> [Int] {
        try await TestDatabase.withConnection { connection in
            let row = try await connection.query(
                """
                SELECT (SELECT count(*) FROM sessions WHERE user_id = \(user)),
                       (SELECT count(*) FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.user_id = \(user))
                """)[0]
            let (sessions, messages) = try row.decode((Int, Int).self)
            return [sessions, messages]
        }
    }

    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
}
