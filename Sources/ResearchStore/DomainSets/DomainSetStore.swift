import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `domain_sets`. Every write records an audit entry in its own transaction.
struct DomainSetStore: Sendable {
    let pool: PostgresPool

    /// Creates the set; a taken name is a unique violation (`409`).
    func create(name: String, content: DomainSetContent, actor: Caller) async throws -> DomainSet {
        try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO domain_sets (name, description, domains, metadata)
                VALUES (\(name), \(content.description), \(content.domains), \(PostgresRawJSON(content.metadata.serialized)))
                RETURNING \(unescaped: DomainSet.columns)
                """)
            try await AuditStore.record(
                on: connection, actor: actor, action: "domain_set.create", targetType: "domain_set", targetID: name,
                details: .object([("domains", .number(String(content.domains.count)))]))
            return try DomainSet(row: rows[0])
        }
    }

    /// Replaces the set whole, creating it when missing; `created` tells which happened.
    func replace(name: String, content: DomainSetContent, actor: Caller) async throws -> (set: DomainSet, created: Bool) {
        try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO domain_sets AS d (name, description, domains, metadata)
                VALUES (\(name), \(content.description), \(content.domains), \(PostgresRawJSON(content.metadata.serialized)))
                ON CONFLICT (name) DO UPDATE SET
                    description = EXCLUDED.description,
                    domains = EXCLUDED.domains,
                    metadata = EXCLUDED.metadata,
                    updated_at = greatest(date_trunc('milliseconds', now()), d.updated_at)
                RETURNING \(unescaped: DomainSet.columns), (xmax = 0) AS created
                """)
            let created = try rows[0].decode(6, as: Bool.self)
            try await AuditStore.record(
                on: connection, actor: actor, action: created ? "domain_set.create" : "domain_set.replace",
                targetType: "domain_set", targetID: name, details: .object([("domains", .number(String(content.domains.count)))]))
            return (try DomainSet(row: rows[0]), created)
        }
    }

    /// Deletes the set; false when there was none (and nothing is audited).
    func delete(name: String, actor: Caller) async throws -> Bool {
        try await pool.withTransaction { connection in
            let rows = try await connection.query("DELETE FROM domain_sets WHERE name = \(name)")
            guard rows.affectedRows == 1 else { return false }
            try await AuditStore.record(
                on: connection, actor: actor, action: "domain_set.delete", targetType: "domain_set", targetID: name)
            return true
        }
    }

    func find(name: String) async throws -> DomainSet? {
        let rows = try await pool.query("SELECT \(unescaped: DomainSet.columns) FROM domain_sets WHERE name = \(name)")
        return try rows.first.map(DomainSet.init(row:))
    }

    /// By name; `after` is the last name of the previous page.
    func list(after: String?, limit: Int) async throws -> [DomainSet] {
        try await pool.query(Self.listQuery(after: after, limit: limit)).map(DomainSet.init(row:))
    }

    /// `name > coalesce($1, '')`, not `($1 IS NULL OR name > $1)`: an index condition of the
    /// primary key in a generic plan too.
    static func listQuery(after: String?, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: DomainSet.columns) FROM domain_sets
        WHERE name > coalesce(\(after), '')
        ORDER BY name LIMIT \(limit)
        """
    }
}
