import Foundation
import TestSupport
import Testing

/// Fixtures and runs for the importer's tests: SQLite files made by the sqlite3 CLI from the seed
/// documents' table definitions, and `research-store import` run as an operator runs it.
enum ImportFixture {
    /// The Yral chat's tables, as seed document 002 defines them.
    static let yralSchema = """
        CREATE TABLE ai_influencers (
            id TEXT PRIMARY KEY,
            name TEXT UNIQUE NOT NULL,
            display_name TEXT NOT NULL,
            avatar_url TEXT,
            description TEXT,
            category TEXT,
            system_instructions TEXT NOT NULL,
            personality_traits TEXT,
            is_active TEXT CHECK(is_active IN ('active', 'coming soon', 'discontinued')) DEFAULT 'active',
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            influencer_id TEXT NOT NULL,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            FOREIGN KEY (influencer_id) REFERENCES ai_influencers(id) ON DELETE CASCADE,
            UNIQUE(user_id, influencer_id)
        );
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT,
            message_type TEXT NOT NULL CHECK (message_type IN ('TEXT', 'IMAGE', 'MULTIMODAL', 'AUDIO')),
            media_urls TEXT,
            audio_url TEXT,
            audio_duration_seconds INTEGER,
            token_count INTEGER,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE CASCADE
        );
        CREATE INDEX idx_messages_conversation ON messages(conversation_id);

        """

    /// A new folder for one test's files.
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "import-test-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A SQLite file made by `sqlite3` from `sql`; CHECK constraints are off while it runs, so
    /// that a fixture can hold the rows a real database should not.
    static func sqlite(_ sql: String, in directory: String) async throws -> String {
        let script = directory + "/fixture.sql"
        let database = directory + "/fixture.db"
        try ("PRAGMA ignore_check_constraints = ON;\n" + sql).write(toFile: script, atomically: true, encoding: .utf8)
        let made = try await runToEnd("/usr/bin/sqlite3", [database, ".read \(script)"], environment: [:])
        try #require(made.status == 0, "sqlite3 failed: \(made.text)")
        return database
    }

    /// Runs `research-store import …` from the debug build against the test database.
    static func runImport(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProgramOutput {
        try await runToEnd(
            try TestDatabase.repositoryRoot() + "/.build/debug/research-store", ["import"] + arguments,
            environment: [
                "PATH": "/usr/bin:/bin", "ENV_FILE": "/dev/null", "DATABASE_URL": try TestDatabase.url(), "AUTH_MODE": "none",
            ].merging(environment) { _, given in given })
    }

    /// The numbers of the summary's line for `table`: read, imported, already present, skipped.
    static func counts(_ output: ProgramOutput, _ table: String) throws -> [Int] {
        let line = try #require(
            output.text.split(separator: "\n").first { $0.split(separator: " ").first.map(String.init) == table },
            "no \(table) line in: \(output.text)")
        return line.split(separator: " ").dropFirst().compactMap { Int($0) }
    }
}
