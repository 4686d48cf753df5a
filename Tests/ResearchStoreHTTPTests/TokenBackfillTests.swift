import Foundation
import Postgres
import Synchronization
import PostgresPool
import ResearchStore
import TestSupport
import Testing
import Tokenizer

/// `research-store tokens backfill`, on a database of its own: it counts every uncounted message
/// of a database, so the shared test database (where other tests store as they run) would make
/// its figures unpredictable.
@Suite("tokens backfill", .serialized)
struct TokenBackfillTests {
    /// A new database migrated by the real `scripts/migrate`; dropped afterwards.
    func withScratchDatabase(_ body: (String) async throws -> Void) async throws {
        let name = TestDatabase.uniqueName("rs_backfill")
        var components = try #require(URLComponents(string: try TestDatabase.url()))
        components.path = "/" + name
        let url = try #require(components.string)
        _ = try await TestDatabase.withConnection { try await $0.query("CREATE DATABASE \(identifier: name)") }
        let result: Result<Void, any Error>
        do {
            let migrated = try await runToEnd(
                try TestDatabase.repositoryRoot() + "/scripts/migrate", ["--database-url", url], environment: [:])
            try #require(migrated.status == 0, "migrate failed: \(migrated.text)")
            result = .success(try await body(url))
        } catch {
            result = .failure(error)
        }
        _ = try? await TestDatabase.withConnection { try await $0.query("DROP DATABASE \(identifier: name) WITH (FORCE)") }
        try result.get()
    }

    /// Stores `count` messages of varied text with `TOKEN_ENCODING=estimate`: nothing counted.
    func storeUncounted(_ count: Int, databaseURL: String) async throws -> [String] {
        var random = SeededRandom(seed: 99)
        let contents = (0..<count).map { index in index == 3 ? "" : TextMaker.text(&random, pieces: 1...50) }
        try await withAPI(databaseURL: databaseURL, tokenCounting: .estimate) { client in
            let user = uniqueUser()
            for half in [contents.prefix(count / 2), contents.suffix(count - count / 2)] {
                let session = try await createSession(client, user: user)
                let items = half.map { #"{"role": "user", "content": \#(quoted($0))}"# }.joined(separator: ",")
                let response = try await client.call(
                    .post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(items)]}"#)
                #expect(response.status == .created)
            }
        }
        return contents
    }

    /// content → (tokens_o200k, tokens_cl100k, token_count, token_count_estimated) of every row.
    func rows(_ pool: PostgresPool) async throws -> [(content: String, o200k: Int?, cl100k: Int?, tokenCount: Int, estimated: Bool)] {
        try await pool.query("SELECT content, tokens_o200k, tokens_cl100k, token_count, token_count_estimated FROM messages ORDER BY id")
            .map { row in
                let (content, o200k, cl100k, tokenCount, estimated) = try row.decode((String, Int?, Int?, Int, Bool).self)
                return (content, o200k, cl100k, tokenCount, estimated)
            }
    }

    func withPool(_ url: String, _ body: (PostgresPool) async throws -> Void) async throws {
        let pool = PostgresPool(
            configuration: PostgresPoolConfiguration(), connection: try PostgresConfiguration(connectionString: url),
            logger: TestDatabase.logger)
        do {
            try await body(pool)
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
    }

    @Test("counts in batches, goes on where a stopped run left off, and never changes token_count")
    func resumable() async throws {
        try await withScratchDatabase { url in
            let contents = try await storeUncounted(25, databaseURL: url)
            try await withPool(url) { pool in
                let before = try await rows(pool)
                #expect(before.count == 25 && before.allSatisfy { $0.o200k == nil && $0.cl100k == nil && $0.estimated })

                // Stopped after its first batch.
                let batches = Mutex(0)
                let first = try await TokenBackfill(pool: pool, batchSize: 10).run(
                    shouldStop: { batches.withLock { $0 } >= 1 }, progress: { progress in if progress.counted > 0 { batches.withLock { $0 += 1 } } })
                #expect(first.counted == 10 && first.batches == 1 && first.stopped && first.skipped == 0, "\(first)")
                #expect(try await rows(pool).filter { $0.o200k != nil }.count == 10)

                var seen: [TokenBackfill.Progress] = []
                let second = try await TokenBackfill(pool: pool, batchSize: 10).run(progress: { seen.append($0) })
                #expect(second.counted == 15 && second.batches == 2 && !second.stopped && second.skipped == 0, "\(second)")
                #expect(seen.first?.total == 15 && seen.first?.counted == 0 && seen.last?.counted == 15, "\(seen)")
                #expect(first.bytes + second.bytes == contents.reduce(0) { $0 + $1.utf8.count })

                let o200k = try BPETokenizer.shared(.o200kBase)
                let cl100k = try BPETokenizer.shared(.cl100kBase)
                let after = try await rows(pool)
                #expect(after.count == 25)
                for (old, new) in zip(before, after) {
                    #expect(new.o200k == o200k.count(new.content) && new.cl100k == cl100k.count(new.content), "\(new.content.debugDescription)")
                    #expect(new.tokenCount == old.tokenCount && new.estimated, "token_count changed")
                }
                let third = try await TokenBackfill(pool: pool).run()
                #expect(third.counted == 0 && third.batches == 0 && !third.stopped)
            }
        }
    }

    @Test("runs beside stores and session deletes: nothing fails, nothing is lost, every message left ends up counted")
    func besideTheServer() async throws {
        try await withScratchDatabase { url in
            try await withAPI(databaseURL: url, tokenCounting: .estimate) { client in
                let user = uniqueUser()
                var doomed: [String] = []
                for index in 0..<6 {
                    let session = try await createSession(client, user: user)
                    let items = (0..<100).map { #"{"role": "user", "content": "message \#(index)-\#($0) 東京 👩‍👩‍👧‍👦"}"# }
                    let stored = try await client.call(
                        .post, "/db/messages/batch", as: user,
                        json: #"{"session_id": "\#(session)", "messages": [\#(items.joined(separator: ","))]}"#)
                    #expect(stored.status == .created)
                    doomed.append(session)
                }
                let live = try await createSession(client, user: user)
                try await withPool(url) { pool in
                    // Small batches, so that the run overlaps the stores and deletes below.
                    async let first = TokenBackfill(pool: pool, batchSize: 20).run()
                    for index in 0..<60 {
                        let response = try await client.call(
                            .post, "/db/messages/store", as: user,
                            json: #"{"session_id": "\#(live)", "role": "assistant", "content": "live \#(index)"}"#)
                        #expect(response.status == .created)
                        if index % 10 == 0, let session = doomed.popLast() {
                            #expect(try await client.call(.delete, "/db/sessions/\(session)", as: user).status == .noContent)
                        }
                    }
                    let summary = try await first
                    #expect(summary.counted > 0 && !summary.stopped, "\(summary)")
                    // What was stored after the first run passed by is counted by the next.
                    _ = try await TokenBackfill(pool: pool).run()
                    let rows = try await pool.query(
                        """
                        SELECT count(*) FILTER (WHERE tokens_o200k IS NULL OR tokens_cl100k IS NULL), count(*),
                               count(*) FILTER (WHERE session_id = \(UUID(uuidString: live)!)),
                               max(seq) FILTER (WHERE session_id = \(UUID(uuidString: live)!))
                        FROM messages
                        """)
                    let (uncounted, total, liveCount, liveMax) = try rows[0].decode((Int, Int, Int, Int).self)
                    #expect(uncounted == 0)
                    #expect(liveCount == 60 && liveMax == 60)
                    #expect(total == 60 + 100 * doomed.count, "deleted sessions' messages are gone, the others stay")
                }
            }
        }
    }

    @Test("the command counts what is left, prints a summary, and draws a progress bar only on a terminal")
    func command() async throws {
        try await withScratchDatabase { url in
            _ = try await storeUncounted(9, databaseURL: url)
            let executable = try TestDatabase.repositoryRoot() + "/.build/debug/research-store"
            let environment = ["DATABASE_URL": url, "ENV_FILE": "/dev/null", "PATH": "/usr/bin:/bin"]

            let piped = try await runToEnd(executable, ["tokens", "backfill", "--batch-size", "4"], environment: environment)
            #expect(piped.status == 0, "\(piped.text)")
            #expect(piped.text.contains("counted 9 messages"), "\(piped.text)")
            #expect(piped.text.contains("in 3 batches") && piped.text.contains("every message is counted"), "\(piped.text)")
            #expect(!piped.text.contains("\r"), "a progress bar on a pipe: \(piped.text.debugDescription)")

            try await withPool(url) { pool in
                _ = try await pool.query("UPDATE messages SET tokens_o200k = NULL WHERE seq <= 2")
            }
            // `script` gives the command a terminal.
            let terminal = try await runToEnd(
                "/usr/bin/script", ["-qec", "\(executable) tokens backfill --batch-size 1", "/dev/null"], environment: environment)
            #expect(terminal.status == 0, "\(terminal.text)")
            #expect(terminal.text.contains("\r"), "no progress bar: \(terminal.text.debugDescription)")
            #expect(terminal.text.contains("4/4 messages"), "\(terminal.text.debugDescription)")
            #expect(terminal.text.contains("counted 4 messages"), "\(terminal.text.debugDescription)")

            let invalid = try await runToEnd(executable, ["tokens", "backfill", "--batch-size", "0"], environment: environment)
            #expect(invalid.status != 0)
            #expect(invalid.text.contains("--batch-size must be 1–100000"), "\(invalid.text)")
        }
    }
}
