/// What an import did, per table of ours: rows read from the source, imported, already present
/// (from an earlier run), skipped with reasons; and the notes (user ids mapped). Holds source ids
/// and reasons only, never contents.
public struct ImportReport: Sendable {
    public struct Counts: Sendable, Equatable {
        public var read = 0
        public var imported = 0
        public var alreadyPresent = 0
        /// Reason → rows.
        public var skipped: [String: Int] = [:]

        public var skippedTotal: Int { skipped.values.reduce(0, +) }
        /// Rows dealt with either way, for progress.
        public var done: Int { imported + alreadyPresent + skippedTotal }
    }

    public var tables: [ImportTable: Counts] = [:]
    /// The first `namedLimit` bad rows in the order met (kept for the summary), and how many
    /// there were in all.
    public private(set) var badRows: [BadRow] = []
    public private(set) var badRowCount = 0
    /// Notes that are not skips, e.g. a user id mapped into the allowed form: the first
    /// `namedLimit`, and how many in all.
    public private(set) var notes: [String] = []
    public private(set) var noteCount = 0
    public static let namedLimit = 50

    public init() {}

    subscript(table: ImportTable) -> Counts {
        get { tables[table] ?? Counts() }
        set { tables[table] = newValue }
    }

    mutating func read(_ table: ImportTable, _ count: Int = 1) { self[table].read += count }

    /// A skipped row of ours-to-be; `badRow` names it (a row the source shows as bad), or nil
    /// when it is skipped because its parent was (the parent is named).
    mutating func skip(_ table: ImportTable, reason: String, count: Int = 1, badRow: BadRow? = nil) {
        guard count > 0 else { return }
        self[table].skipped[reason, default: 0] += count
        if let badRow { bad(badRow) }
    }

    /// A bad source row that is not a row of ours (an `ai_influencers` row, say): named, not counted.
    mutating func bad(_ row: BadRow) {
        badRowCount += 1
        if badRows.count < Self.namedLimit { badRows.append(row) }
    }

    mutating func note(_ text: String) {
        noteCount += 1
        if notes.count < Self.namedLimit { notes.append(text) }
    }

    public var hasBadRows: Bool { badRowCount > 0 }
}
