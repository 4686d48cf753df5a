import FoundationEssentials
import Postgres
import PostgresPool

/// The SQL of `feedback`.
struct FeedbackStore: Sendable {
    let pool: PostgresPool

    /// Stores the rating if the target exists and is the caller's own, replacing the caller's
    /// earlier rating of it (same id and `created_at`), in one statement. Nil when the target is
    /// not there for the caller; `created` is false when an earlier rating was replaced.
    func upsert(
        id: UUID, caller: Caller, targetType: String, targetID: UUID, rating: Int, comment: String?
    ) async throws -> (feedback: Feedback, created: Bool)? {
        let rows = try await pool.query(
            """
            WITH target AS (
                SELECT 1 FROM sessions
                WHERE \(targetType) = 'session' AND id = \(targetID) AND user_id = \(caller.userID)
                UNION ALL
                SELECT 1 FROM research_requests
                WHERE \(targetType) = 'research' AND id = \(targetID) AND user_id = \(caller.userID)
                UNION ALL
                SELECT 1 FROM messages m JOIN sessions s ON s.id = m.session_id
                WHERE \(targetType) = 'message' AND m.id = \(targetID) AND s.user_id = \(caller.userID)
            )
            INSERT INTO feedback AS f (id, user_id, target_type, target_id, rating, comment)
            SELECT \(id), \(caller.userID), \(targetType), \(targetID), \(Int16(rating)), \(comment)
            WHERE EXISTS (SELECT 1 FROM target)
            ON CONFLICT ON CONSTRAINT feedback_user_id_target_key DO UPDATE SET
                rating = EXCLUDED.rating,
                comment = EXCLUDED.comment,
                updated_at = greatest(date_trunc('milliseconds', now()), f.updated_at)
            RETURNING \(unescaped: Feedback.columns), (xmax = 0) AS created
            """)
        guard let row = rows.first else { return nil }
        return (try Feedback(row: row), try row.decode(8, as: Bool.self))
    }

    /// The rating if `caller` may see it (its author, or an admin).
    func find(id: UUID, caller: Caller) async throws -> Feedback? {
        let rows = try await pool.query(
            """
            SELECT \(unescaped: Feedback.columns) FROM feedback
            WHERE id = \(id) AND (\(caller.isAdmin) OR user_id = \(caller.userID))
            """)
        return try rows.first.map(Feedback.init(row:))
    }

    /// A page of the user's ratings for the export, in the order of the unique index.
    static func exportPage(userID: String, after: Feedback?, limit: Int, on connection: PostgresConnection) async throws
        -> [Feedback]
    {
        try await connection.query(exportPageQuery(userID: userID, after: after.map { ($0.targetType, $0.targetID) }, limit: limit))
            .map(Feedback.init(row:))
    }

    static func exportPageQuery(userID: String, after: (targetType: String, targetID: UUID)?, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: Feedback.columns) FROM feedback
        WHERE user_id = \(userID)
          AND (target_type, target_id) > (coalesce(\(after?.targetType), ''), coalesce(\(after?.targetID), \(unescaped: Keyset.minUUID)))
        ORDER BY target_type, target_id LIMIT \(limit)
        """
    }

    /// Admin statistics over `[from, to)` (by `created_at`): one statement, grouping sets for the
    /// total, each rating and each target type.
    static func statisticsQuery(from: Date, to: Date) -> PostgresQuery {
        """
        SELECT grouping(target_type, rating) AS level, target_type, rating, count(*), avg(rating)::float8
        FROM feedback
        WHERE created_at >= \(from) AND created_at < \(to)
        GROUP BY GROUPING SETS ((), (target_type), (rating))
        """
    }
}
