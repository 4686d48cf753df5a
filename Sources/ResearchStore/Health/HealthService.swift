import Logging
import Postgres
import PostgresPool

/// The database as the health endpoints report it.
public struct DatabaseHealth: Sendable, Equatable {
    public var reachable: Bool
    public var latencyMilliseconds: Double?
    /// The highest applied migration, 0 when none; nil when unreachable.
    public var schemaVersion: Int?
}

/// The full health report behind `GET /db/health`.
public struct HealthReport: Sendable {
    public var database: DatabaseHealth
    public var pool: PostgresPoolStatistics
    public var version: String
    public var uptimeSeconds: Int
    /// The read replicas as last watched (`DATABASE_REPLICA_URLS`); empty without.
    public var replicas: [ReadReplicas.Status] = []
    public var isHealthy: Bool { database.reachable }
}

/// Readiness: whether this process should receive traffic, and if not, why.
public struct Readiness: Sendable, Equatable {
    public var reasons: [String]
    public var isReady: Bool { reasons.isEmpty }
}

/// Answers liveness, readiness and health questions about the service and its database.
/// The database is asked through `DatabaseProbe` (a connection of its own, results cached for a
/// second), never through the request pool, whose figures are only read.
public struct HealthService: Sendable {
    let pool: PostgresPool
    let probe: DatabaseProbe
    let shutdown: ShutdownState
    let replicas: ReadReplicas?
    let startedAt: ContinuousClock.Instant
    public let version: String

    public init(pool: PostgresPool, probe: DatabaseProbe, shutdown: ShutdownState, version: String, replicas: ReadReplicas? = nil) {
        self.pool = pool
        self.probe = probe
        self.replicas = replicas
        self.shutdown = shutdown
        self.version = version
        self.startedAt = .now
    }

    /// The pool's figures right now.
    public var poolStatistics: PostgresPoolStatistics { pool.statistics }

    /// Whether the database answers and its applied schema version, at most a second old.
    public func database() async -> DatabaseHealth {
        await probe.check()
    }

    public func report() async -> HealthReport {
        HealthReport(
            database: await database(), pool: pool.statistics, version: version,
            uptimeSeconds: Int((ContinuousClock.now - startedAt).components.seconds), replicas: replicas?.current ?? [])
    }

    /// Ready when not shutting down, the database answers, and its schema is at least what this
    /// build expects (a newer schema is fine: migrations stay compatible with the previous release).
    public func readiness() async -> Readiness {
        var reasons: [String] = []
        if shutdown.isShuttingDown { reasons.append("shutting down") }
        let database = await database()
        if !database.reachable {
            reasons.append("database unreachable")
        } else if let applied = database.schemaVersion, applied < SchemaVersion.expected {
            reasons.append("database schema version \(applied) is behind \(SchemaVersion.expected): run scripts/migrate")
        }
        return Readiness(reasons: reasons)
    }
}

/// Reads the applied schema version from `schema_migrations`.
public enum SchemaVersionReader {
    /// The highest applied version, or 0 when nothing was ever migrated.
    public static func appliedVersion(pool: PostgresPool) async throws -> Int {
        try await pool.withConnection { try await appliedVersion(on: $0) }
    }

    /// The same, on a connection the caller holds.
    public static func appliedVersion(on connection: PostgresConnection) async throws -> Int {
        do {
            let rows = try await connection.query("SELECT coalesce(max(version), 0) FROM schema_migrations")
            return try rows.first?.decode(0, as: Int.self) ?? 0
        } catch let error as PostgresError where error.sqlState == "42P01" {
            return 0  // undefined_table: a database never migrated
        }
    }
}
