import FoundationEssentials
import PostgresPool

/// The result cache: JSON objects under keys shared by the whole deployment, each with a TTL.
/// An expired entry reads as absent at once; `ExpirySweeper` deletes it later.
public struct CacheService: Sendable {
    let store: CacheStore

    public init(pool: PostgresPool) {
        store = CacheStore(pool: pool)
    }

    /// Largest `value`: 1 MiB of compact JSON.
    public static let maximumValueBytes = 1024 * 1024
    static let ttlRange: ClosedRange<Int64> = 1...2_592_000

    /// `PUT /db/cache/{key}`: `{"value": {...}, "ttl_seconds"}` → the key and its expiry.
    public func put(caller: Caller, key: String, body: JSONValue) async throws -> (key: String, expiresAt: Date) {
        guard CacheEntry.isValidKey(key) else { throw ServiceError.notFound("cache key") }
        var input = InputReader(body)
        let value = input.object("value", required: true, maximumBytes: Self.maximumValueBytes)
        let ttl = input.integer("ttl_seconds", in: Self.ttlRange)
        try input.finish()
        let expiresAt = try await database(table: "result_cache") {
            try await store.put(key: key, value: value!, ttlSeconds: Int(ttl!), writer: caller)
        }
        return (key, expiresAt)
    }

    /// `GET /db/cache/{key}`: `404` when missing or expired.
    public func get(key: String) async throws -> CacheEntry {
        guard CacheEntry.isValidKey(key) else { throw ServiceError.notFound("cache key") }
        let entry = try await database(table: "result_cache") { try await store.find(key: key) }
        guard let entry else { throw ServiceError.notFound("cache key") }
        return entry
    }

    /// `DELETE /db/cache/{key}`: succeeds whether or not the key was there.
    public func delete(key: String) async throws {
        guard CacheEntry.isValidKey(key) else { throw ServiceError.notFound("cache key") }
        try await database(table: "result_cache") { try await store.delete(key: key) }
    }
}
