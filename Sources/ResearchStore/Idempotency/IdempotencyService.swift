import Foundation
import Postgres
import PostgresPool

/// `Idempotency-Key`: a repeated create by the same caller, method and route within 24 hours
/// returns the first response and writes nothing; the same key with another body, or while the
/// first is still in flight, is a conflict.
///
/// The claim is committed on its own before the work starts, so a concurrent duplicate sees it
/// and is refused: exactly one of them creates. Only successful responses are kept; a failed
/// first attempt releases the key so the client may retry.
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

    public enum Claim: Sendable {
        /// Go ahead, then `complete` or `release`.
        case claimed
        case replay(StoredResponse)
    }

    /// An in-flight claim older than this is taken to be abandoned (its process died).
    static let abandonedAfterSeconds = 120

    /// Claims the key for a request whose body is `body`, or says what to do instead.
    public func claim(_ scope: Scope, body: [UInt8]) async throws -> Claim {
        guard (1...255).contains(scope.key.unicodeScalars.count) else {
            throw ServiceError(.malformed, "Idempotency-Key must be 1 to 255 characters")
        }
        let bytes = PostgresBytes(body)
        return try await database(table: "idempotency_keys") {
            try await pool.withConnection { connection in
                for _ in 0..<3 {
                    let claimed = try await connection.query(
                        """
                        WITH owner AS (
                            INSERT INTO users (id) VALUES (\(scope.userID)) ON CONFLICT (id) DO NOTHING
                        )
                        INSERT INTO idempotency_keys AS k (user_id, method, route, key, request_hash)
                        VALUES (\(scope.userID), \(scope.method), \(scope.route), \(scope.key), encode(sha256(\(bytes)), 'hex'))
                        ON CONFLICT (user_id, method, route, key) DO UPDATE SET
                            request_hash = excluded.request_hash, state = 'in_flight', response_status = NULL,
                            response_headers = NULL, response_body = NULL,
                            created_at = date_trunc('milliseconds', now()),
                            expires_at = date_trunc('milliseconds', now() + interval '24 hours')
                        WHERE k.expires_at <= now()
                           OR (k.state = 'in_flight' AND k.created_at < now() - make_interval(secs => \(Self.abandonedAfterSeconds)))
                        RETURNING 1
                        """)
                    if !claimed.isEmpty { return .claimed }
                    let existing = try await connection.query(
                        """
                        SELECT state, request_hash = encode(sha256(\(bytes)), 'hex'), response_status, response_headers,
                               response_body
                        FROM idempotency_keys
                        WHERE user_id = \(scope.userID) AND method = \(scope.method) AND route = \(scope.route)
                          AND key = \(scope.key)
                        """)
                    guard let row = existing.first else { continue }  // expired and swept meanwhile: claim again
                    let (state, sameBody) = try row.decode((String, Bool).self)
                    guard sameBody else {
                        throw ServiceError(.conflict, "this Idempotency-Key was used with a different request body")
                    }
                    guard state == "completed" else {
                        throw ServiceError(
                            .conflict, "a request with this Idempotency-Key is still in progress", retryAfterSeconds: 1)
                    }
                    let headers = try row.decode(3, as: PostgresJSON<[String: String]>?.self)?.value ?? [:]
                    return .replay(
                        StoredResponse(
                            status: try row.decode(2, as: Int.self), headers: headers,
                            body: try row.decode(4, as: PostgresBytes.self).bytes))
                }
                throw ServiceError(.conflict, "this Idempotency-Key is contended; retry", retryAfterSeconds: 1)
            }
        }
    }

    /// Records the response of a claimed key.
    public func complete(_ scope: Scope, response: StoredResponse) async throws {
        _ = try await database(table: "idempotency_keys") {
            try await pool.query(
                """
                UPDATE idempotency_keys SET state = 'completed', response_status = \(response.status),
                    response_headers = \(PostgresJSON(response.headers)), response_body = \(PostgresBytes(response.body))
                WHERE user_id = \(scope.userID) AND method = \(scope.method) AND route = \(scope.route)
                  AND key = \(scope.key) AND state = 'in_flight'
                """)
        }
    }

    /// Gives a claimed key up after a failure, so the client can retry with it.
    public func release(_ scope: Scope) async throws {
        _ = try await database(table: "idempotency_keys") {
            try await pool.query(
                """
                DELETE FROM idempotency_keys
                WHERE user_id = \(scope.userID) AND method = \(scope.method) AND route = \(scope.route)
                  AND key = \(scope.key) AND state = 'in_flight'
                """)
        }
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
