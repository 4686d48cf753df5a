import FoundationEssentials

/// `GET /db/admin/stats/feedback`: ratings given in a window.
public struct FeedbackStatistics: Sendable {
    public struct Group: Sendable {
        public var count: Int
        public var meanRating: Double?
    }

    public var from: Date
    public var to: Date
    public var total: Group
    /// Count per rating 1…5 (all five present).
    public var distribution: [Int: Int]
    /// Per target type (all three present).
    public var byTargetType: [String: Group]
}
