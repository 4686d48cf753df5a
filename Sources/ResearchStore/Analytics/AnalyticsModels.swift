import FoundationEssentials
import Postgres

/// An analytics event as a client submits it, validated.
struct NewEvent: Sendable {
    var eventType: String
    var sessionID: UUID?
    var properties: JSONValue
    var durationMilliseconds: Double?
    var occurredAt: Date?
}

/// `GET /db/analytics/summary`: counts per event type and time bucket, duration percentiles.
public struct AnalyticsSummary: Sendable {
    public struct EventType: Sendable {
        public var eventType: String
        public var count: Int
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
    }

    public struct Bucket: Sendable {
        public var start: Date
        public var eventType: String
        public var count: Int
    }

    public var from: Date
    public var to: Date
    public var bucket: String
    public var eventTypes: [EventType]
    public var buckets: [Bucket]
}

/// `GET /db/analytics/sessions/{id}`: one session's figures.
public struct SessionAnalytics: Sendable {
    public var sessionID: UUID
    /// Messages per role: user, assistant, system, tool.
    public var messages: [String: Int]
    public var totalTokens: Int64
    /// Research requests per status, and the mean duration of those that ran to the end.
    public var research: [String: Int]
    public var meanResearchDurationMilliseconds: Double?
    public var llmCalls: Int
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var costUSD: Double?
    public var events: Int
}

/// A stored analytics event.
public struct AnalyticsEvent: Sendable, Equatable {
    public var id: Int64
    public var userID: String
    public var sessionID: UUID?
    public var eventType: String
    public var properties: JSONValue
    public var durationMilliseconds: Double?
    public var occurredAt: Date
    public var receivedAt: Date

    static let columns: StaticString = "id, user_id, session_id, event_type, properties, duration_ms, occurred_at, received_at"

    init(row: PostgresRow) throws {
        let (id, userID, sessionID, eventType, properties, duration, occurredAt, receivedAt) = try row.decode(
            (Int64, String, UUID?, String, PostgresRawJSON, Double?, Date, Date).self)
        self.id = id
        self.userID = userID
        self.sessionID = sessionID
        self.eventType = eventType
        self.properties = .raw(properties.text)
        self.durationMilliseconds = duration
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
    }
}
