import FoundationEssentials
import ResearchStore

/// A session as a reader makes it from a source's rows: ids already ours, texts already checked,
/// messages in the order the source gives them (`createdAt`, then source id).
public struct ImportedSession: Sendable {
    public var id: UUID
    /// The source's id of the row it came from, for reports.
    public var sourceID: String
    public var userID: String
    public var title: String
    public var status = "active"
    public var metadata: JSONValue
    public var createdAt: Date
    public var updatedAt: Date
    /// Given by the source when it keeps it (an export); otherwise the last message's time.
    public var lastMessageAt: Date?
    public var messages: [ImportedMessage]
    /// Rows that belong to the session (research requests and their history): written with it
    /// when it is new, skipped with it when it is present.
    public var rows: [ImportedRow] = []
}

/// A message of an `ImportedSession`. `seq` follows from its place in the session.
public struct ImportedMessage: Sendable {
    public var id: UUID
    public var sourceID: String
    public var role: String
    public var content: String
    public var model: String?
    public var metadata: JSONValue
    public var createdAt: Date
    /// Given by the source when it keeps the store's own counts (an export); otherwise the
    /// importer counts as the server does.
    public var counts: MessageCounts?
}

/// What the server stores of a message's size: `token_count` (and whether it is the estimate) and
/// the exact counts in both encodings when counted.
public struct MessageCounts: Sendable, Equatable {
    public var tokenCount: Int
    public var estimated: Bool
    public var o200k: Int?
    public var cl100k: Int?
}

/// A user whose sessions are imported: `users` rows must exist before them.
public struct ImportedUser: Sendable {
    public var id: String
    public var firstSeen: Date
    public var lastSeen: Date
}

/// A row that is not a session: a table of ours, its columns' values as COPY text (nil for NULL),
/// and the key that says whether it is there already.
public struct ImportedRow: Sendable {
    public var table: ImportTable
    public var sourceID: String
    public var key: String
    public var values: [String?]
    /// The row's user and when the source saw them, when its `users` row may be missing (a source
    /// whose rows name their users); nil when a session or the export's user brings it.
    public var owner: ImportedUser? = nil
}
