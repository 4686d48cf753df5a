import FoundationEssentials
import Postgres

/// A user's 1–5 rating of their own message, research request or session; one per target.
public struct Feedback: Sendable, Equatable {
    public var id: UUID
    public var userID: String
    public var targetType: String
    public var targetID: UUID
    public var rating: Int
    public var comment: String?
    public var createdAt: Date
    public var updatedAt: Date

    public static let targetTypes = ["message", "research", "session"]

    static let columns: StaticString = "id, user_id, target_type, target_id, rating, comment, created_at, updated_at"

    init(row: PostgresRow) throws {
        let (id, userID, targetType, targetID, rating, comment, createdAt, updatedAt) = try row.decode(
            (UUID, String, String, UUID, Int, String?, Date, Date).self)
        self.init(
            id: id, userID: userID, targetType: targetType, targetID: targetID, rating: rating, comment: comment,
            createdAt: createdAt, updatedAt: updatedAt)
    }

    public init(
        id: UUID, userID: String, targetType: String, targetID: UUID, rating: Int, comment: String?, createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.targetType = targetType
        self.targetID = targetID
        self.rating = rating
        self.comment = comment
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
