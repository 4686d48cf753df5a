import FoundationEssentials

/// `GET /db/admin/stats/telemetry`: analytics events per type in a window.
public struct TelemetryStatistics: Sendable {
    public var from: Date
    public var to: Date
    public var total: Int
    public var byEventType: [(eventType: String, count: Int)]
}
