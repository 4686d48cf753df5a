import FoundationEssentials
import Postgres

/// One run of a research workflow over its whole life, with its status history.
public struct ResearchRequest: Sendable, Equatable {
    /// One transition, the creation (`pending`) first.
    public struct StatusChange: Sendable, Equatable {
        public var status: String
        public var at: Date
        /// Why the store itself made the change (`lease_expired`); nil for a caller's own.
        public var reason: String?
    }

    public var id: UUID
    public var sessionID: UUID
    public var question: String
    public var workflowType: String
    public var parameters: JSONValue
    public var status: String
    public var result: JSONValue?
    public var error: String?
    public var sources: [String]
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var durationMilliseconds: Int64?
    /// How many times a worker claimed it.
    public var attempt: Int
    /// The worker that claimed it last; nil when never claimed.
    public var workerID: String?
    /// Until when its worker holds it; nil when no lease runs.
    public var leaseExpiresAt: Date?
    public var history: [StatusChange]

    public static let statuses = ["pending", "running", "completed", "failed", "cancelled"]

    /// The statuses each status may move to; terminal states move nowhere.
    public static let transitions: [String: [String]] = [
        "pending": ["running", "cancelled"],
        "running": ["completed", "failed", "cancelled"],
    ]

    /// The statuses from which `status` can be reached.
    static func sources(of status: String) -> [String] {
        transitions.filter { $0.value.contains(status) }.map(\.key).sorted()
    }

    static let columns: StaticString = """
        r.id, r.session_id, r.question, r.workflow_type, r.parameters, r.status, r.result, r.error, r.sources,
        r.created_at, r.started_at, r.finished_at, r.duration_ms, r.attempt, r.worker_id, r.lease_expires_at
        """

    init(row: PostgresRow, history: [StatusChange]) throws {
        let (id, sessionID, question, workflowType, parameters, status, result, error, sources) = try row.decode(
            (UUID, UUID, String, String, PostgresRawJSON, String, PostgresRawJSON?, String?, [String]).self)
        self.id = id
        self.sessionID = sessionID
        self.question = question
        self.workflowType = workflowType
        self.parameters = .raw(parameters.text)
        self.status = status
        self.result = result.map { .raw($0.text) }
        self.error = error
        self.sources = sources
        createdAt = try row.decode(9, as: Date.self)
        startedAt = try row.decode(10, as: Date?.self)
        finishedAt = try row.decode(11, as: Date?.self)
        durationMilliseconds = try row.decode(12, as: Int64?.self)
        (attempt, workerID, leaseExpiresAt) = try row.decode((Int, String?, Date?).self, from: 13)
        self.history = history
    }
}
