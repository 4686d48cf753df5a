import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `result_cache` (an UNLOGGED table; see schema.sql).
struct CacheStore: Sendable {
    let pool: PostgresPool

    /// Stores or replaces the entry, registering its writer on first sight, in one statement.
    func put(key: String, value: JSONValue, ttlSeconds: Int, writer: Caller) async throws -> Date {
        let rows = try await pool.query(
            """
            WITH writer AS (
                INSERT INTO users (id) VALUES (\(writer.userID)) ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO result_cache AS c (key, value, expires_at, created_by)
            VALUES (\(key), \(PostgresRawJSON(value.serialized)),
                    date_trunc('milliseconds', now()) + make_interval(secs => \(ttlSeconds)), \(writer.userID))
            ON CONFLICT (key) DO UPDATE SET
                value = EXCLUDED.value,
                expires_at = EXCLUDED.expires_at,
                created_at = EXCLUDED.created_at,
                created_by = EXCLUDED.created_by
            RETURNING expires_at
            """)
        return try rows[0].decode(0, as: Date.self)
    }

    /// The entry unless it has expired (swept or not).
    func find(key: String) async throws -> CacheEntry? {
        let rows = try await pool.query(
            "SELECT value, expires_at FROM result_cache WHERE key = \(key) AND expires_at > now()")
        return try rows.first.map { row in
            let (value, expiresAt) = try row.decode((PostgresRawJSON, Date).self)
            return CacheEntry(key: key, value: .raw(value.text), expiresAt: expiresAt)
        }
    }

    func delete(key: String) async throws {
        try await pool.query("DELETE FROM result_cache WHERE key = \(key)")
    }

    /// Deletes up to `limit` expired entries; rows another sweeper holds are skipped, so replicas
    /// sweeping at once share the work instead of queueing.
    func sweepExpired(limit: Int) async throws -> Int {
        try await pool.query(
            """
            DELETE FROM result_cache WHERE key IN (
                SELECT key FROM result_cache WHERE expires_at <= now()
                ORDER BY expires_at LIMIT \(limit)
                FOR UPDATE SKIP LOCKED)
            """
        ).affectedRows
    }
}
