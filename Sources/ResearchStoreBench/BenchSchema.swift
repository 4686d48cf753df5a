/// The tables, statements and payload shared with `scripts/bench` (which creates the tables and
/// gives pgbench the very same SQL and payload).
enum BenchSchema {
    static let itemsTable = "bench_items"
    static let copyTable = "bench_copy"

    /// About 100 bytes of text; `scripts/bench` builds the same string for pgbench.
    static let payload: String = {
        let pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
        return String(String(repeating: pattern, count: 3).prefix(100))
    }()

    /// Upper bound (inclusive) of the random `n` column values, as in the pgbench script.
    static let maximumN: Int32 = 1_000_000
}
