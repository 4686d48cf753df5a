import Hummingbird
import ResearchStore

/// `/metrics`: Prometheus text exposition.
struct MetricsController {
    let metrics: AppMetrics
    let health: HealthService

    func register(with router: Router<some RequestContext>) {
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition(pool: health.poolStatistics))))
        }
    }
}
