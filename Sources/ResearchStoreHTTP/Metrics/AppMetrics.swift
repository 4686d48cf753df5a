import Metrics
import Postgres
import PostgresPool
import Prometheus
import ResearchStore

/// The service's metrics, with the contract's names, kept in a Prometheus registry of its own
/// (no global bootstrap, so every application and test has its own figures).
public final class AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.defaultDurationHistogramBuckets = buckets
        self.factory = factory
    }

    /// `http_requests_total{method,route,status}` and `http_request_duration_seconds{method,route}`.
    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        Counter(
            label: "http_requests_total", dimensions: [("method", method), ("route", route), ("status", String(status))],
            factory: factory
        ).increment()
        Metrics.Timer(label: "http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory)
            .recordNanoseconds(Self.nanoseconds(duration))
    }

    /// `db_pool_wait_seconds`: how long a lease waited for a connection.
    public func recordPoolWait(_ duration: Duration) {
        Metrics.Timer(label: "db_pool_wait_seconds", factory: factory).recordNanoseconds(Self.nanoseconds(duration))
    }

    /// `db_query_duration_seconds`, and `db_errors_total{sqlstate_class}` for failures.
    public func recordQuery(_ duration: Duration, error: PostgresError?) {
        Metrics.Timer(label: "db_query_duration_seconds", factory: factory).recordNanoseconds(Self.nanoseconds(duration))
        if let error {
            let sqlStateClass = error.sqlStateClass ?? (error.isConnectionError ? "08" : "none")
            Counter(label: "db_errors_total", dimensions: [("sqlstate_class", sqlStateClass)], factory: factory).increment()
        }
    }

    /// `db_reads_total{target}`: reads of the API by where they ran (`primary` or `replica`).
    func recordRead(_ target: ReadTarget) {
        Counter(label: "db_reads_total", dimensions: [("target", target.rawValue)], factory: factory).increment()
    }

    /// `rows_ingested_total{table}`: rows stored by the ingest routes.
    func recordIngested(_ count: Int, table: String) {
        Counter(label: "rows_ingested_total", dimensions: [("table", table)], factory: factory).increment(by: Int64(count))
    }

    /// `message_store_flushes_total` and `message_store_flushed_messages_total`: the group
    /// commits of `POST /db/messages/store` and the stores they carried (their ratio is the
    /// mean group size).
    func recordMessageFlush(_ count: Int) {
        Counter(label: "message_store_flushes_total", factory: factory).increment()
        Counter(label: "message_store_flushed_messages_total", factory: factory).increment(by: Int64(count))
    }

    /// The Prometheus text exposition, with `db_pool_connections{state}` and the group commit's
    /// `message_store_queued` and `message_store_flushing` read now.
    func exposition(pool: PostgresPoolStatistics, groupCommit: GroupCommitStatistics) -> [UInt8] {
        let states = [("open", pool.open), ("in_use", pool.inUse), ("idle", pool.idle), ("waiting", pool.waiting), ("max", pool.maximum)]
        for (state, value) in states {
            Gauge(label: "db_pool_connections", dimensions: [("state", state)], factory: factory).record(value)
        }
        Gauge(label: "message_store_queued", factory: factory).record(groupCommit.queued)
        Gauge(label: "message_store_flushing", factory: factory).record(groupCommit.flushing)
        return registry.emitToBuffer()
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
