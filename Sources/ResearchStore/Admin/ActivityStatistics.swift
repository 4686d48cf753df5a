import FoundationEssentials

/// `GET /db/admin/stats/activity`: sessions and messages created per UTC day, and research
/// requests by status with their durations, in a window (what the admin dashboard draws).
public struct ActivityStatistics: Sendable {
    public struct Day: Sendable {
        /// `YYYY-MM-DD`, in UTC.
        public var day: String
        public var sessions: Int
        public var messages: Int
    }

    /// Research requests of one status, and `duration_ms` of those that ran and finished.
    public struct ResearchFigures: Sendable {
        public var count: Int
        public var mean: Double?
        public var p50: Double?
        public var p95: Double?
        public var max: Double?
    }

    public static let researchStatuses = ["pending", "running", "completed", "failed", "cancelled"]

    public var from: Date
    public var to: Date
    /// Every UTC day the window touches, oldest first, zeros included.
    public var byDay: [Day]
    public var researchByStatus: [String: ResearchFigures]
}
