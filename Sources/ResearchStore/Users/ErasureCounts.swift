import FoundationEssentials
import Postgres

/// What an erasure removed, by table: recorded in the audit trail (counts only).
public struct ErasureCounts: Sendable, Equatable {
    public var counts: [(table: String, rows: Int)]

    public static func == (lhs: ErasureCounts, rhs: ErasureCounts) -> Bool {
        lhs.counts.map(\.table) == rhs.counts.map(\.table) && lhs.counts.map(\.rows) == rhs.counts.map(\.rows)
    }
}
