import Foundation

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

/// `GET /db/admin/stats/telemetry`: analytics events per type in a window.
public struct TelemetryStatistics: Sendable {
    public var from: Date
    public var to: Date
    public var total: Int
    public var byEventType: [(eventType: String, count: Int)]
}

/// `GET /db/admin/stats/llm`: LLM calls in a window, in total and per provider and model.
public struct LLMStatistics: Sendable {
    public struct Figures: Sendable {
        public var calls: Int
        public var promptTokens: Int64
        public var completionTokens: Int64
        public var totalTokens: Int64
        /// Exact decimal text; nil when no call in the group reported a cost.
        public var costUSD: String?
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
    }

    public struct Model: Sendable {
        public var provider: String
        public var model: String
        public var figures: Figures
    }

    public var from: Date
    public var to: Date
    public var totals: Figures
    public var byModel: [Model]
}
