import FoundationEssentials
import PostgresPool

/// Analytics events: ingested one at a time or in all-or-nothing batches, summarised by the
/// database (counts and `percentile_cont`) over a time window. Non-admins see only events of
/// their own user id and sessions.
public struct AnalyticsService: Sendable {
    let store: AnalyticsStore

    public init(pool: PostgresPool) {
        store = AnalyticsStore(pool: pool)
    }

    static let typeDescription = "1 to 64 characters of [a-z0-9_.:-]"
    static let batchSize = 1...10_000
    static let maximumBuckets = 10_000

    /// `POST /db/analytics/log` → the number accepted (1).
    public func log(caller: Caller, body: JSONValue) async throws -> Int {
        var input = InputReader(body)
        let event = Self.readEvent(body, path: "", input: &input)
        try input.finish()
        return try await insert([event!], caller: caller, batch: false)
    }

    /// `POST /db/analytics/batch`: `{"events": [...]}`, all or nothing.
    public func logBatch(caller: Caller, body: JSONValue) async throws -> Int {
        var input = InputReader(body)
        let events = input.array("events", count: Self.batchSize) { reader, item, path in
            Self.readEvent(item, path: path, input: &reader)
        }
        try input.finish()
        return try await insert(events!, caller: caller, batch: true)
    }

    private func insert(_ events: [NewEvent], caller: Caller, batch: Bool) async throws -> Int {
        do {
            return try await database(table: "analytics_events") { try await store.insert(events, caller: caller) }
        } catch let unknown as AnalyticsStore.UnknownSession {
            let field = batch ? "events[\(unknown.index)].session_id" : "session_id"
            throw ServiceError(.notFound, "session not found", fieldErrors: [FieldError(field: field, message: "no such session")])
        }
    }

    /// `GET /db/analytics/summary?from=&to=&event_type=&bucket=hour|day` (default: the last 24 h by hour).
    public func summary(caller: Caller, query: [String: String]) async throws -> AnalyticsSummary {
        var reader = QueryReader(query)
        // The default window ends just after now, so an event stored this millisecond is in it.
        let to = reader.timestamp("to") ?? Timestamp.truncatedToMilliseconds(Date()).addingTimeInterval(0.001)
        let from = reader.timestamp("from") ?? to.addingTimeInterval(-86_400)
        let bucket = reader.choice("bucket", of: ["hour", "day"]) ?? "hour"
        let eventType = reader.string(
            "event_type", length: 1...64, allowed: CharacterClass.lowercaseToken, description: Self.typeDescription)
        if from > to { reader.fail("from", "must not be after to") }
        let bucketSeconds: Double = bucket == "day" ? 86_400 : 3_600
        if to.timeIntervalSince(from) / bucketSeconds > Double(Self.maximumBuckets) {
            reader.fail("from", "the window spans more than \(Self.maximumBuckets) buckets")
        }
        try reader.finish()
        let owner = caller.isAdmin ? nil : caller.userID
        let figures = try await database(table: "analytics_events") {
            try await store.summary(owner: owner, from: from, to: to, eventType: eventType, bucket: bucket)
        }
        return AnalyticsSummary(from: from, to: to, bucket: bucket, eventTypes: figures.types, buckets: figures.buckets)
    }

    /// `GET /db/analytics/sessions/{id}`.
    public func session(caller: Caller, id: String) async throws -> SessionAnalytics {
        try await lookUp("session", id: id, table: "sessions") { id in
            try await AdminReadAudit(pool: store.pool).reading(caller, .session(id)) {
                try await store.sessionFigures(sessionID: id, caller: caller)
            }
        }
    }

    /// One event's fields.
    static func readEvent(_ value: JSONValue, path: String, input: inout InputReader) -> NewEvent? {
        guard case .object = value else {
            input.merge([FieldError(field: path.isEmpty ? "body" : path, message: "must be an object")])
            return nil
        }
        var fields = InputReader(value, path: path)
        let eventType = fields.string(
            "event_type", length: 1...64, allowed: CharacterClass.lowercaseToken, description: typeDescription)
        let sessionID = fields.uuid("session_id", required: false, nullable: true)
        let properties = fields.object("properties")
        let duration = fields.nonNegativeNumber("duration_ms", required: false, nullable: true)
        let occurredAt = fields.timestamp("occurred_at", required: false)
        input.merge(fields.errors)
        guard fields.errors.isEmpty, let eventType else { return nil }
        return NewEvent(
            eventType: eventType, sessionID: sessionID, properties: properties ?? .object([]), durationMilliseconds: duration,
            occurredAt: occurredAt)
    }
}
