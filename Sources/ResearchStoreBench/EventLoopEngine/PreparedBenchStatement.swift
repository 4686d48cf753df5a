import Postgres

/// A named statement every engine connection prepares at setup, as `pgbench -M prepared` does.
struct PreparedBenchStatement: Sendable {
    let name: String
    let sql: String
    let parameterTypes: [UInt32]

    /// The same SQL and parameter types as `InsertOperation` sends through the wrapper.
    static let insert = PreparedBenchStatement(
        name: "bench_insert", sql: "INSERT INTO bench_items (payload, n) VALUES ($1, $2)",
        parameterTypes: [PostgresDataType.text.rawValue, PostgresDataType.int4.rawValue])

    /// The same SQL and parameter type as `SelectOperation`.
    static let select = PreparedBenchStatement(
        name: "bench_select",
        sql: "SELECT id, payload, n, created_at FROM bench_items WHERE id > $1 ORDER BY id LIMIT 50",
        parameterTypes: [PostgresDataType.int8.rawValue])

    static let all = [insert, select]
}
