import Foundation
import Postgres
import TestSupport
import Testing

/// `scripts/backup` and `scripts/restore` (pgbackrest: a base backup, archived WAL, recovery to a
/// moment) on a PostgreSQL cluster of their own, with the migrated schema.
@Suite("Point-in-time recovery")
struct PointInTimeRecoveryTests {
    @Test("scripts/restore --to T brings back every session committed by T and nothing committed after")
    func restoreToTimestamp() async throws {
        try await ThrowawayCluster.with(prefix: "pitr") { try await run(on: $0) }
    }

    @Test("scripts/restore refuses a missing or malformed --to with exit code 2")
    func refusesBadTarget() async throws {
        let scripts = ThrowawayCluster(name: "pitr-none", url: "", root: try TestDatabase.repositoryRoot())
        for arguments in [
            ["--name", "pitr-none"], ["--name", "pitr-none", "--to"], ["--name", "pitr-none", "--to", "yesterday"],
            ["--name", "pitr-none", "--to", "2026-02-30 10:00:00+00"], ["--name", "pitr-none", "--to", "2026-12-02 17:40:00+00; rm"],
        ] {
            let refused = try await scripts.script("restore", arguments)
            #expect(refused.status == 2, "\(arguments): \(refused.output)")
            #expect(refused.output.contains("--to"), "\(arguments): \(refused.output)")
        }
    }

    func run(on cluster: ThrowawayCluster) async throws {
        let backupStart = ContinuousClock.now
        let backup = try await cluster.script("backup", ["--name", cluster.name])
        let backupTime = ContinuousClock.now - backupStart
        try #require(backup.status == 0, "\(backup.output)")
        let wholeSecond: PostgresQuery = "SELECT floor(extract(epoch FROM clock_timestamp()))::int8"
        let backupEnded = try await cluster.count(wholeSecond)
        // The schema comes after the base backup: the restore replays it from the archived WAL too.
        let migrated = try await cluster.script("migrate", ["--database-url", cluster.url])
        try #require(migrated.status == 0, "\(migrated.output)")

        // Before T: sessions in several transactions.
        try await Self.execute(cluster, "INSERT INTO users (id) VALUES ('pitr')")
        var before: [String] = []
        for batch in 0..<5 {
            let titles = (0..<4).map { "before-\(batch)-\($0)" }
            try await Self.insertSessions(cluster, titles)
            before += titles
        }
        // T, on the database's clock, after those commits. pgbackrest restores from a backup whose
        // stop time, in whole seconds, is before T's second: T must not share the backup's last second.
        try #require(try await waitUntil { try await cluster.count(wholeSecond) > backupEnded })
        let target = try await cluster.query("SELECT clock_timestamp()::text")
        _ = try await cluster.query("SELECT pg_walfile_name(pg_switch_wal())")

        // After T: new sessions, one session renamed and one deleted.
        for batch in 0..<3 {
            let titles = (0..<4).map { "after-\(batch)-\($0)" }
            try await Self.insertSessions(cluster, titles)
        }
        try await Self.execute(cluster, "UPDATE sessions SET title = 'after-renamed' WHERE title = 'before-0-0'")
        try await Self.execute(cluster, "DELETE FROM sessions WHERE title = 'before-1-1'")
        #expect(try await cluster.count("SELECT count(*) FROM sessions WHERE title LIKE 'after-%'") == 13)
        #expect(try await cluster.count("SELECT count(*) FROM sessions WHERE title LIKE 'before-%'") == before.count - 2)

        // Everything in the archive before the restore.
        let segment = try await cluster.query("SELECT pg_walfile_name(pg_switch_wal())")
        let archived = try await waitUntil {
            try await cluster.count("SELECT count(*) FROM pg_stat_archiver WHERE last_archived_wal >= \(segment)") == 1
        }
        let archiver = try await cluster.query(
            "SELECT format('archived %s, last %s, failed %s, last failed %s', archived_count, last_archived_wal, failed_count, last_failed_wal) FROM pg_stat_archiver")
        try #require(archived, "WAL segment \(segment) was not archived: \(archiver)")

        let restoreStart = ContinuousClock.now
        let restored = try await cluster.script("restore", ["--name", cluster.name, "--to", target])
        let restoreTime = ContinuousClock.now - restoreStart
        try #require(restored.status == 0, "\(restored.output)")
        print("point-in-time recovery: backup \(Self.seconds(backupTime)), restore to \(target) \(Self.seconds(restoreTime))")

        #expect(try await cluster.query("SELECT pg_is_in_recovery()::text") == "false")
        let titles = try await cluster.query("SELECT coalesce(string_agg(title, ',' ORDER BY title), '') FROM sessions")
        let present = Set(titles.split(separator: ",").map(String.init))
        #expect(present == Set(before), "missing: \(Set(before).subtracting(present).sorted()), extra: \(present.subtracting(before).sorted())")
        // The restored cluster takes writes again.
        try await Self.insertSessions(cluster, ["after-restore"])
        #expect(try await cluster.count("SELECT count(*) FROM sessions") == before.count + 1)
    }

    /// Runs one statement (no result wanted) on a connection, and so in a transaction, of its own.
    static func execute(_ cluster: ThrowawayCluster, _ sql: PostgresQuery) async throws {
        try await cluster.withConnection { _ = try await $0.query(sql) }
    }

    /// Sessions of the user "pitr" with these titles, in one transaction.
    static func insertSessions(_ cluster: ThrowawayCluster, _ titles: [String]) async throws {
        try await execute(cluster, "INSERT INTO sessions (id, user_id, title) SELECT gen_random_uuid(), 'pitr', t FROM unnest(\(titles)) AS t")
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f s", Double(seconds) + Double(attoseconds) / 1e18)
    }
}
