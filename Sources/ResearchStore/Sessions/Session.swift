import FoundationEssentials
import Postgres

/// A session as a client asks for it, validated.
struct NewSession: Sendable, Identifiable {
    var id: UUID
    var userID: String
    var title: String
    var metadata: JSONValue
}

/// One conversation of one user.
public struct Session: Sendable, Equatable {
    public var id: UUID
    public var userID: String
    public var title: String
    public var status: String
    /// The stored metadata object, as JSON text.
    public var metadata: JSONValue
    public var messageCount: Int
    public var totalTokens: Int64
    public var createdAt: Date
    public var updatedAt: Date
    public var lastMessageAt: Date?

    public static let statuses = ["active", "archived"]

    /// The columns `init(row:)` reads, in order.
    static let columns: StaticString = """
        id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at
        """

    init(row: PostgresRow) throws {
        let (id, userID, title, status, metadata, messageCount, totalTokens, createdAt, updatedAt, lastMessageAt) =
            try row.decode((UUID, String, String, String, PostgresRawJSON, Int, Int64, Date, Date, Date?).self)
        self.init(
            id: id, userID: userID, title: title, status: status, metadata: .raw(metadata.text),
            messageCount: messageCount, totalTokens: totalTokens, createdAt: createdAt, updatedAt: updatedAt,
            lastMessageAt: lastMessageAt)
    }

    public init(
        id: UUID, userID: String, title: String, status: String, metadata: JSONValue, messageCount: Int,
        totalTokens: Int64, createdAt: Date, updatedAt: Date, lastMessageAt: Date?
    ) {
        self.id = id
        self.userID = userID
        self.title = title
        self.status = status
        self.metadata = metadata
        self.messageCount = messageCount
        self.totalTokens = totalTokens
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastMessageAt = lastMessageAt
    }
}

