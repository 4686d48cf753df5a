import Hummingbird
import ResearchStore

/// `/livez`, `/readyz` and `/db/health`.
struct HealthController {
    let health: HealthService

    func register(with router: Router<some RequestContext>) {
        router.get("/livez", use: live)
        router.get("/readyz", use: ready)
        router.get("/db/health", use: databaseHealth)
    }

    @Sendable func live(_ request: Request, context: some RequestContext) -> StatusBody {
        StatusBody(status: "ok")
    }

    @Sendable func ready(_ request: Request, context: some RequestContext) async -> EditedResponse<ReadinessBody> {
        let readiness = await health.readiness()
        return okOrUnavailable(ReadinessBody(readiness), isOK: readiness.isReady)
    }

    @Sendable func databaseHealth(_ request: Request, context: some RequestContext) async -> EditedResponse<HealthBody> {
        let report = await health.report()
        return okOrUnavailable(HealthBody(report), isOK: report.isHealthy)
    }

    /// `200` with `body`, or `503` with `Retry-After` and the same body.
    private func okOrUnavailable<Body: ResponseGenerator>(_ body: Body, isOK: Bool) -> EditedResponse<Body> {
        EditedResponse(status: isOK ? .ok : .serviceUnavailable, headers: isOK ? [:] : [.retryAfter: "1"], response: body)
    }
}

struct StatusBody: ResponseCodable {
    var status: String
}

struct ReadinessBody: ResponseCodable {
    var status: String
    var reasons: [String]?

    init(_ readiness: Readiness) {
        status = readiness.isReady ? "ready" : "not_ready"
        reasons = readiness.isReady ? nil : readiness.reasons
    }
}

/// The `/db/health` body: the contract's shape, in both the `200` and the `503` case.
struct HealthBody: ResponseCodable {
    struct Database: Codable {
        var reachable: Bool
        var latencyMs: Double?
        var schemaVersion: Int?

        enum CodingKeys: String, CodingKey {
            case reachable
            case latencyMs = "latency_ms"
            case schemaVersion = "schema_version"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(reachable, forKey: .reachable)
            try container.encode(latencyMs, forKey: .latencyMs)  // explicit null when unreachable
            try container.encode(schemaVersion, forKey: .schemaVersion)
        }
    }

    struct Pool: Codable {
        var max: Int
        var open: Int
        var inUse: Int
        var idle: Int
        var waiting: Int

        enum CodingKeys: String, CodingKey {
            case max, open, idle, waiting
            case inUse = "in_use"
        }
    }

    var status: String
    var database: Database
    var pool: Pool
    var version: String
    var uptimeS: Int

    enum CodingKeys: String, CodingKey {
        case status, database, pool, version
        case uptimeS = "uptime_s"
    }

    init(_ report: HealthReport) {
        status = report.isHealthy ? "ok" : "unavailable"
        database = Database(
            reachable: report.database.reachable, latencyMs: report.database.latencyMilliseconds,
            schemaVersion: report.database.schemaVersion)
        pool = Pool(
            max: report.pool.maximum, open: report.pool.open, inUse: report.pool.inUse, idle: report.pool.idle,
            waiting: report.pool.waiting)
        version = report.version
        uptimeS = report.uptimeSeconds
    }
}
