import Hummingbird
import ResearchStore

/// `/metrics`: Prometheus text exposition.
struct MetricsController {
    let metrics: AppMetrics
    let health: HealthService
    let messages: MessageService

    func register(with router: Router<some RequestContext>) {
        router.get("/metrics") { _, _ in
            let text = metrics.exposition(pool: health.poolStatistics, groupCommit: messages.groupCommitStatistics)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }
}
