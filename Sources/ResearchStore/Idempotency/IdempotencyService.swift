import FoundationEssentials
import Postgres
import PostgresPool

/// `Idempotency-Key`: a repeated create by the same caller, method and route within 24 hours
/// returns the first response and writes nothing; the same key with another body, or while the
/// first is still in flight, is a conflict.
///
/// The key's record, the work and the recorded response are one transaction (`withSharedTransaction`:
/// the work's own pool calls join it). So exactly one request creates, under every failure: a
/// crash, a cancelled request or a failed write rolls the key back with the work, and a committed
/// write always has its response recorded. A transaction-scoped advisory lock on the key makes a
/// concurrent duplicate fail fast with `409` instead of waiting.
public struct IdempotencyService: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// Identifies one key: caller + method + route template + key.
    public struct Scope: Sendable {
        public var userID: String
        public var method: String
        public var route: String
        public var key: String

        public init(userID: String, method: String, route: String, key: String) {
            self.userID = userID
            self.method = method
            self.route = route
            self.key = key
        }
    }

    /// A response to replay.
    public struct StoredResponse: Sendable, Equatable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]

        public init(status: Int, headers: [String: String], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public enum Outcome: Sendable {
        /// The work ran now and committed with its recorded response.
        case performed(StoredResponse)
        /// An earlier request with this key and body did the work: its response, unchanged.
        case replayed(StoredResponse)
    }

    /// `400` unless the key is 1 to 255 characters; checked before any work.
    public static func validate(key: String) throws(ServiceError) {
        guard (1...255).contains(key.unicodeScalars.count) else {
            throw ServiceError(.malformed, "Idempotency-Key must be 1 to 255 characters", fieldErrors: [
                FieldError(field: "Idempotency-Key", message: "must be 1 to 255 characters")
            ])
        }
    }

    /// Replays the response recorded for `scope`, or runs `work` and records its response, all
    /// in one transaction. A deadlock or serialization failure retries the whole unit.
    public func perform(
        _ scope: Scope, body: [UInt8], work: () async throws -> StoredResponse
    ) async throws -> Outcome {
        try Self.validate(key: scope.key)
        let bytes = PostgresBytes(body)
        return try await database(table: "idempotency_keys") {
            try await pool.withSharedTransaction {
                if let stored = try await claim(scope, body: bytes) { return .replayed(stored) }
                let response = try await work()
                try await record(scope, body: bytes, response: response)
                return .performed(response)
            }
        }
    }

    /// Takes the key's lock for this transaction and returns the recorded response, if any.
    private func claim(_ scope: Scope, body: PostgresBytes) async throws -> StoredResponse? {
        // The lock first, then the lookup, each its own statement: the lookup's snapshot is taken
        // after the lock is held, so it sees the record of a duplicate that just committed. One
        // round trip all the same (a pipeline, with the transaction's BEGIN).
        try await pool.withConnection { connection in
            let results = try await connection.pipeline([
                """
                SELECT pg_try_advisory_xact_lock(
                    hashtextextended(\(scope.userID) || ' ' || \(scope.method) || ' ' || \(scope.route) || ' ' || \(scope.key), 0))
                """,
                """
                SELECT request_hash = encode(sha256(\(body)), 'hex'), response_status, response_headers, response_body
                FROM idempotency_keys
                WHERE user_id = \(scope.userID) AND method = \(scope.method) AND route = \(scope.route)
                  AND key = \(scope.key) AND state = 'completed' AND expires_at > now()
                """,
            ])
            guard try results[0].first?.decode(0, as: Bool.self) == true else {
                throw ServiceError(.conflict, "a request with this Idempotency-Key is still in progress", retryAfterSeconds: 1)
            }
            let existing = results[1]
            guard let row = existing.first else { return nil }
            guard try row.decode(0, as: Bool.self) else {
                throw ServiceError(.conflict, "this Idempotency-Key was used with a different request body")
            }
            return StoredResponse(
                status: try row.decode(1, as: Int.self),
                headers: try row.decode(2, as: PostgresJSON<[String: String]>?.self)?.value ?? [:],
                body: try row.decode(3, as: PostgresBytes.self).bytes)
        }
    }

    /// Records the response in the unit's transaction (replacing an expired record of the key).
    private func record(_ scope: Scope, body: PostgresBytes, response: StoredResponse) async throws {
        try await pool.query(
            """
            WITH owner AS (
                INSERT INTO users (id) VALUES (\(scope.userID)) ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO idempotency_keys AS k (
                user_id, method, route, key, request_hash, state, response_status, response_headers, response_body)
            VALUES (
                \(scope.userID), \(scope.method), \(scope.route), \(scope.key), encode(sha256(\(body)), 'hex'), 'completed',
                \(response.status), \(PostgresJSON(response.headers)), \(PostgresBytes(response.body)))
            ON CONFLICT (user_id, method, route, key) DO UPDATE SET
                request_hash = excluded.request_hash, state = 'completed', response_status = excluded.response_status,
                response_headers = excluded.response_headers, response_body = excluded.response_body,
                created_at = date_trunc('milliseconds', now()),
                expires_at = date_trunc('milliseconds', now() + interval '24 hours')
            """)
    }

    /// Deletes up to `limit` expired records (past their 24 h), skipping rows another sweeper holds.
    func sweepExpired(limit: Int) async throws -> Int {
        try await pool.query(
            """
            DELETE FROM idempotency_keys WHERE (user_id, method, route, key) IN (
                SELECT user_id, method, route, key FROM idempotency_keys WHERE expires_at <= now()
                ORDER BY expires_at LIMIT \(limit)
                FOR UPDATE SKIP LOCKED)
            """
        ).affectedRows
    }
}
