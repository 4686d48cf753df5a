/// The named statements one connection has prepared, keyed by SQL and parameter types.
///
/// Bounded by `limit`, so SQL assembled at run time (a `VALUES` list of varying length) cannot
/// grow a backend's memory without end: a new statement beyond the bound evicts the least
/// recently used one, which the connection then deallocates. Names are never reused (`rs_1`,
/// `rs_2`, …), so a name forgotten here but not yet deallocated on the server cannot collide.
struct PreparedStatementCache {
    let limit: Int
    private var entries: [String: (name: String, lastUsed: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var prepared: UInt64 = 0
    /// Names still prepared on the server but no longer cached: to be deallocated.
    private(set) var stale: [String] = []

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    var count: Int { entries.count }

    static func key(for query: PostgresQuery) -> String {
        query.sql + "\u{0}" + query.bindings.types.map(String.init).joined(separator: ",")
    }

    /// The cached name of `key`, marked as just used.
    mutating func name(for key: String) -> String? {
        guard let name = entries[key]?.name else { return nil }
        clock += 1
        entries[key]?.lastUsed = clock
        return name
    }

    /// A fresh name for a statement about to be prepared.
    mutating func nextName() -> String {
        prepared += 1
        return "rs_\(prepared)"
    }

    /// Records a prepared statement; the one it evicts, if any, joins `stale`.
    mutating func insert(_ key: String, name: String) {
        if entries.count >= limit, let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            entries[oldest.key] = nil
            stale.append(oldest.value.name)
        }
        clock += 1
        entries[key] = (name, clock)
    }

    /// Forgets `key` (its plan no longer fits the schema); its name joins `stale`.
    mutating func forget(_ key: String) {
        if let name = entries.removeValue(forKey: key)?.name { stale.append(name) }
    }

    mutating func clearStale() {
        stale.removeAll()
    }
}
