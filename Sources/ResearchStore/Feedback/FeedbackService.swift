import FoundationEssentials
import PostgresPool

/// Feedback: one 1–5 rating per user and target; a second rating replaces the first.
public struct FeedbackService: Sendable {
    let store: FeedbackStore

    public init(pool: PostgresPool) {
        store = FeedbackStore(pool: pool)
    }

    static let commentLength = 0...2000

    /// `POST /db/feedback`: `{"target_type", "target_id", "rating", "comment"?}`. The target must
    /// exist and be the caller's own (else `404`). `created` is false when it replaced a rating.
    public func rate(caller: Caller, body: JSONValue) async throws -> (feedback: Feedback, created: Bool) {
        var input = InputReader(body)
        let targetType = input.choice("target_type", of: Feedback.targetTypes)
        let targetID = input.uuid("target_id")
        let rating = input.integer("rating", in: 1...5)
        let comment = input.string("comment", required: false, nullable: true, length: Self.commentLength)
        try input.finish()
        let stored = try await database(table: "feedback") {
            try await store.upsert(
                id: UUIDv7.make(), caller: caller, targetType: targetType!, targetID: targetID!, rating: Int(rating!),
                comment: comment)
        }
        guard let stored else {
            throw ServiceError(
                .notFound, "\(targetType!) not found", fieldErrors: [FieldError(field: "target_id", message: "no such \(targetType!)")])
        }
        return stored
    }

    /// `GET /db/feedback/{id}`.
    public func get(caller: Caller, id: String) async throws -> Feedback {
        try await lookUp("feedback", id: id, table: "feedback") { id in
            try await AdminReadAudit(pool: store.pool).reading(caller, .feedback(id)) { try await store.find(id: id, caller: caller) }
        }
    }
}
