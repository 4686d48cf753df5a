import FoundationEssentials

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
